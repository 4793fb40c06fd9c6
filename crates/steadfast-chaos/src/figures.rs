//! Plain statistics over samples: counts, availability, latency percentiles
//! and throughput.

use std::time::Duration;

use serde::Serialize;

use super::record::Sample;

/// Latency percentiles of a set of requests, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// Requests measured.
    pub count: usize,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
}

impl Percentiles {
    /// The percentiles of `samples`' latencies.
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Percentiles {
        let mut millis: Vec<f64> = samples
            .into_iter()
            .map(|s| s.latency.as_secs_f64() * 1000.0)
            .collect();
        millis.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let last = millis.len().checked_sub(1)?;
            millis.get(((last as f64) * q).round() as usize).copied()
        };
        Percentiles {
            count: millis.len(),
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
        }
    }
}

/// What clients saw over a set of requests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Requests.
    pub requests: usize,
    /// Of which errors (no whole answer).
    pub errors: usize,
    /// Share answered in full.
    pub availability: Option<f64>,
    /// Share that got an error.
    pub error_rate: Option<f64>,
    /// Latency of the successful ones.
    pub latency: Percentiles,
}

impl Stats {
    /// The figures of `samples`.
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Stats {
        let samples: Vec<&Sample> = samples.into_iter().collect();
        let requests = samples.len();
        let errors = samples.iter().filter(|s| !s.ok).count();
        let share = |n: usize| (requests > 0).then(|| n as f64 / requests as f64);
        Stats {
            requests,
            errors,
            availability: share(requests - errors),
            error_rate: share(errors),
            latency: Percentiles::of(samples.into_iter().filter(|s| s.ok)),
        }
    }
}

/// Successful answers per second over `spans`, for requests started in them.
pub fn throughput(samples: &[Sample], spans: &[(Duration, Duration)]) -> Option<f64> {
    let time: f64 = spans
        .iter()
        .map(|(start, end)| (*end - *start).as_secs_f64())
        .sum();
    let served = samples
        .iter()
        .filter(|s| {
            s.ok && spans
                .iter()
                .any(|(start, end)| (*start..*end).contains(&s.start))
        })
        .count();
    (time > 0.0).then(|| served as f64 / time)
}

/// A share, with what it is a share of.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    /// The share (0 to 1).
    pub share: f64,
    /// How many counted.
    pub count: usize,
    /// Out of how many.
    pub of: usize,
}

impl Share {
    /// `count` of `of`; none when `of` is zero.
    pub fn new(count: usize, of: usize) -> Option<Share> {
        (of > 0).then(|| Share {
            share: count as f64 / of as f64,
            count,
            of,
        })
    }
}

/// A duration in seconds.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A duration in milliseconds.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
