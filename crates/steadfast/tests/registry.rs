//! Public behaviour of the registries.

// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steadfast::breaker::{BreakerConfig, SlidingWindow, State};
use steadfast::events::{Event, Events};
use steadfast::registry::{BreakerRegistry, Registry};

#[test]
fn get_or_insert_makes_each_name_once() {
    let registry: Registry<Arc<AtomicUsize>> = Registry::new();
    let made = AtomicUsize::new(0);
    let make = |_: &Arc<str>| {
        made.fetch_add(1, Ordering::Relaxed);
        Arc::new(AtomicUsize::new(0))
    };
    let a = registry.get_or_insert_with("a", make);
    let again = registry.get_or_insert_with("a", make);
    assert!(Arc::ptr_eq(&a, &again));
    registry.get_or_insert_with("b", make);
    assert_eq!(made.load(Ordering::Relaxed), 2);
    assert_eq!(registry.len(), 2);
    assert_eq!(registry.names(), [Arc::from("a"), Arc::from("b")]);
    assert!(registry.get("c").is_none());
}

#[test]
fn remove_insert_and_snapshot() {
    let registry = Registry::new();
    assert!(registry.is_empty());
    assert_eq!(registry.insert("x", 1), None);
    assert_eq!(registry.insert("x", 2), Some(1));
    registry.insert("w", 3);
    assert_eq!(
        registry.snapshot(),
        [(Arc::from("w"), 3), (Arc::from("x"), 2)]
    );
    assert_eq!(registry.remove("x"), Some(2));
    assert_eq!(registry.remove("x"), None);
    assert_eq!(registry.get_or_insert_with("x", |_| 9), 9);
}

#[test]
fn concurrent_get_or_insert_agrees_on_one_value() {
    let registry: Arc<Registry<Arc<str>>> = Arc::new(Registry::new());
    let values: Vec<Arc<str>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let registry = Arc::clone(&registry);
                scope.spawn(move || registry.get_or_insert_with("shared", |_| i.to_string().into()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(values.iter().all(|value| Arc::ptr_eq(value, &values[0])));
    assert_eq!(registry.len(), 1);
}

#[test]
fn breakers_use_defaults_and_overrides() {
    let defaults = BreakerConfig {
        min_calls: 3,
        window: SlidingWindow::Count(20),
        ..BreakerConfig::default()
    };
    let special = BreakerConfig {
        consecutive_failures: Some(1),
        ..defaults.clone()
    };
    let registry = BreakerRegistry::new(defaults.clone()).with_override("claude", special.clone());
    assert_eq!(registry.breaker("gpt").config(), &defaults);
    assert_eq!(registry.breaker("claude").config(), &special);
    assert_eq!(registry.config_for("llama"), &defaults);
    assert_eq!(registry.breaker("claude").name().as_ref(), "claude");
    assert_eq!(registry.breakers().names().len(), 2);
}

#[test]
fn the_same_name_shares_state_until_removed() {
    let registry = BreakerRegistry::default();
    registry.breaker("gpt").trip();
    assert_eq!(registry.breaker("gpt").state(), State::Open);
    assert_eq!(registry.get("gpt").map(|b| b.state()), Some(State::Open));
    let removed = registry.remove("gpt").unwrap();
    assert_eq!(removed.state(), State::Open, "handles keep working");
    assert_eq!(registry.breaker("gpt").state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn every_breaker_publishes_into_the_shared_bus() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let registry = BreakerRegistry::new(BreakerConfig {
        open_for: Duration::from_secs(5),
        ..BreakerConfig::default()
    })
    .with_events(events);
    registry.breaker("a").trip();
    registry.breaker("b").force_open();
    let changes: Vec<_> = std::iter::from_fn(|| receiver.try_recv().ok())
        .map(|event| match event {
            Event::BreakerStateChanged { name, to, .. } => (name, to),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        [
            (Arc::from("a"), State::Open),
            (Arc::from("b"), State::ForcedOpen)
        ]
    );
}
