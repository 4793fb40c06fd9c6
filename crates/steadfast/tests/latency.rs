//! Public behaviour of the latency tracker.

use std::time::Duration;

use steadfast::latency::LatencyTracker;

const MS: Duration = Duration::from_millis(1);

fn within(actual: Duration, expected: Duration, tolerance: f64) -> bool {
    let (a, e) = (actual.as_secs_f64(), expected.as_secs_f64());
    (a - e).abs() <= e * tolerance
}

#[tokio::test(start_paused = true)]
async fn uniform_distribution_percentiles() {
    let tracker = LatencyTracker::new(Duration::from_secs(30));
    for ms in 1..=1000 {
        tracker.record(ms * MS);
    }
    assert_eq!(tracker.count(), 1000);
    for (q, expected) in [
        (0.5, 500),
        (0.9, 900),
        (0.95, 950),
        (0.99, 990),
        (1.0, 1000),
    ] {
        let p = tracker.percentile(q).unwrap();
        assert!(within(p, expected * MS, 0.06), "p{q} = {p:?}");
    }
    assert!(within(tracker.percentile(0.0).unwrap(), MS, 0.06));
}

#[tokio::test(start_paused = true)]
async fn bimodal_distribution_tail() {
    let tracker = LatencyTracker::new(Duration::from_secs(30));
    for i in 0..100 {
        tracker.record(if i < 90 { 20 * MS } else { 2_000 * MS });
    }
    assert!(within(tracker.percentile(0.5).unwrap(), 20 * MS, 0.06));
    assert!(within(tracker.percentile(0.9).unwrap(), 20 * MS, 0.06));
    assert!(within(tracker.percentile(0.91).unwrap(), 2_000 * MS, 0.06));
}

#[tokio::test(start_paused = true)]
async fn needs_minimum_samples() {
    let tracker = LatencyTracker::new(Duration::from_secs(30)).with_min_samples(5);
    for _ in 0..4 {
        tracker.record(10 * MS);
    }
    assert_eq!(tracker.percentile(0.5), None);
    tracker.record(10 * MS);
    assert!(within(tracker.percentile(0.5).unwrap(), 10 * MS, 0.06));
}

#[tokio::test(start_paused = true)]
async fn old_samples_rotate_out() {
    // Window 30 s: three generations of 10 s, two readable plus the current.
    let tracker = LatencyTracker::new(Duration::from_secs(30)).with_min_samples(1);
    for _ in 0..10 {
        tracker.record(1_000 * MS);
    }
    tokio::time::advance(Duration::from_secs(20)).await;
    tracker.record(10 * MS);
    assert_eq!(tracker.count(), 11, "20 s ago is still in the window");
    tokio::time::advance(Duration::from_secs(10)).await;
    tracker.record(10 * MS);
    assert_eq!(tracker.count(), 2, "30 s ago has left the window");
    assert!(within(tracker.percentile(0.99).unwrap(), 10 * MS, 0.06));
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(tracker.count(), 0);
    assert_eq!(tracker.percentile(0.5), None);
}

#[tokio::test(start_paused = true)]
async fn ewma_follows_recent_latency() {
    let tracker = LatencyTracker::new(Duration::from_secs(30)).with_ewma_alpha(0.5);
    assert_eq!(tracker.ewma(), None);
    tracker.record(100 * MS);
    assert_eq!(tracker.ewma(), Some(100 * MS));
    tracker.record(200 * MS);
    assert_eq!(tracker.ewma(), Some(150 * MS));
    tracker.record(50 * MS);
    assert_eq!(tracker.ewma(), Some(100 * MS));
}
