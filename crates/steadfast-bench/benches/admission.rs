//! The cost of admission on the request path: a concurrency limit's place
//! (fixed, learned, and tower's own `ConcurrencyLimit` next to them) and a
//! shedding route's place in the gateway, taken and given back with nothing
//! waiting. Results: BENCHMARKS.md, "Admission".

// Benches may unwrap.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::adaptive::AdaptiveLimit;
use steadfast::bulkhead::Bulkhead;
use steadfast_config::{Priority, SheddingConfig};
use steadfast_proxy::runtime::shed::Shedder;
use tokio::sync::Semaphore;
use tower::Layer;
use tower::limit::ConcurrencyLimitLayer;

mod common;
#[path = "common/target.rs"]
mod target;

use common::{call_once, ok_service, runtime, settings};
use target::gateway_target;

/// A place taken and given back, one thread, nothing waiting.
fn limit_place(c: &mut Criterion) {
    let mut group = c.benchmark_group("concurrency_place");
    let semaphore = Arc::new(Semaphore::new(64));
    group.bench_function("tokio_semaphore", |b| {
        b.iter(|| {
            drop(black_box(
                Arc::clone(&semaphore).try_acquire_owned().unwrap(),
            ))
        });
    });
    let bulkhead = Bulkhead::builder(64).build();
    group.bench_function("steadfast_bulkhead", |b| {
        b.iter(|| drop(black_box(bulkhead.try_acquire().unwrap())));
    });
    let adaptive = AdaptiveLimit::builder().initial(64).max(64).build();
    group.bench_function("steadfast_adaptive_success", |b| {
        b.iter(|| black_box(adaptive.try_acquire().unwrap()).success());
    });
    group.bench_function("steadfast_adaptive_unrecorded", |b| {
        b.iter(|| drop(black_box(adaptive.try_acquire().unwrap())));
    });
    group.finish();
}

/// The same as tower layers around a service that answers at once.
fn limit_service(c: &mut Criterion) {
    let mut group = c.benchmark_group("concurrency_service");
    let rt = runtime();
    let bare = RefCell::new(ok_service());
    group.bench_function("no_limit", |b| b.to_async(&rt).iter(|| call_once(&bare)));
    let tower_limit = RefCell::new(ConcurrencyLimitLayer::new(64).layer(ok_service()));
    group.bench_function("tower_concurrency_limit", |b| {
        b.to_async(&rt).iter(|| call_once(&tower_limit));
    });
    let bulkhead = RefCell::new(Bulkhead::builder(64).build().layer().layer(ok_service()));
    group.bench_function("steadfast_bulkhead", |b| {
        b.to_async(&rt).iter(|| call_once(&bulkhead));
    });
    let adaptive = AdaptiveLimit::builder().initial(64).max(64).build();
    let learned = RefCell::new(adaptive.layer().layer(ok_service()));
    group.bench_function("steadfast_adaptive", |b| {
        b.to_async(&rt).iter(|| call_once(&learned));
    });
    group.finish();
}

/// A shedding route's place, taken and given back with the route below its
/// capacity (the path of every request while nothing waits).
fn route_place(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_admission");
    let rt = runtime();
    let settings: SheddingConfig = serde_json::from_value(serde_json::json!({})).unwrap();
    for (name, model) in [
        ("fixed_limits", serde_json::json!({"max_concurrency": 64})),
        (
            "learned_limits",
            serde_json::json!({"adaptive_concurrency": {"initial": 64}}),
        ),
    ] {
        let targets = [
            gateway_target("a", model.clone()),
            gateway_target("b", model),
        ];
        let shedder = Shedder::new("chat", &settings, &targets, None);
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                drop(black_box(
                    shedder.admit(Priority::Normal, &targets).await.unwrap(),
                ));
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings();
    targets = limit_place, limit_service, route_place
}
criterion_main!(benches);
