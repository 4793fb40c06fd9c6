//! Steadfast's hot paths against peer crates, measured in one run so every
//! comparison is a ratio from the same machine state. Results: BENCHMARKS.md.
//!
//! Every call succeeds: these are the costs a healthy target pays.

// Benches measure wall time with std's clock and may unwrap.
#![allow(
    missing_docs,
    clippy::disallowed_types,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use recloser::Recloser;
use steadfast::Error;
use steadfast::breaker::{Breaker, BreakerLayer};
use steadfast::budget::Budget;
use steadfast::bulkhead::Bulkhead;
use steadfast::fault::FaultPolicy;
use steadfast::pipeline::Pipeline;
use steadfast::rate_limit::{Quota, RateLimit};
use steadfast::retry::{Backoff, RetryLayer, RetryPolicy};
use tower::Layer;

mod common;

use common::{SEC, call_once, ok_service, runtime, settings};

const WINDOW: u32 = 100;

fn count_breaker() -> Breaker {
    Breaker::builder("bench").count_window(WINDOW).build()
}

fn time_breaker() -> Breaker {
    Breaker::builder("bench").time_window(10 * SEC).build()
}

fn recloser() -> Recloser {
    Recloser::custom().closed_len(WINDOW as usize).build()
}

/// The inner service of every tower bench: always ready, always succeeds.
/// Runs `op` `iters` times split over two threads; the wall time of the lot.
fn contended(iters: u64, op: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|scope| {
        for share in [iters / 2, iters - iters / 2] {
            let op = &op;
            scope.spawn(move || (0..share).for_each(|_| op()));
        }
    });
    start.elapsed()
}

fn breaker_single(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_acquire_record");
    let ours = count_breaker();
    group.bench_function("steadfast_count_window", |b| {
        b.iter(|| black_box(&ours).try_acquire().unwrap().record_success());
    });
    let ours = time_breaker();
    group.bench_function("steadfast_time_window", |b| {
        b.iter(|| black_box(&ours).try_acquire().unwrap().record_success());
    });
    let failsafe = failsafe::Config::new().build();
    group.bench_function("failsafe", |b| {
        b.iter(|| black_box(&failsafe).call(|| Ok::<_, ()>(())).unwrap());
    });
    let recloser = recloser();
    group.bench_function("recloser", |b| {
        b.iter(|| black_box(&recloser).call(|| Ok::<_, ()>(())).unwrap());
    });
    group.finish();
}

fn breaker_service(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_service");
    let rt = runtime();
    let plain = RefCell::new(ok_service());
    group.bench_function("no_breaker", |b| {
        b.to_async(&rt).iter(|| call_once(&plain));
    });
    let ours = RefCell::new(BreakerLayer::new(count_breaker()).layer(ok_service()));
    group.bench_function("steadfast", |b| {
        b.to_async(&rt).iter(|| call_once(&ours));
    });
    let layer = tower_resilience::circuitbreaker::CircuitBreakerLayer::builder()
        .sliding_window_size(WINDOW as usize)
        .build()
        .unwrap();
    let peer = RefCell::new(layer.layer(ok_service()));
    group.bench_function("tower_resilience", |b| {
        b.to_async(&rt).iter(|| call_once(&peer));
    });
    group.finish();
}

fn breaker_contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_2_threads");
    let ours = count_breaker();
    group.bench_function("steadfast_count_window", |b| {
        b.iter_custom(|iters| contended(iters, || ours.try_acquire().unwrap().record_success()));
    });
    let ours = time_breaker();
    group.bench_function("steadfast_time_window", |b| {
        b.iter_custom(|iters| contended(iters, || ours.try_acquire().unwrap().record_success()));
    });
    let failsafe = failsafe::Config::new().build();
    group.bench_function("failsafe", |b| {
        b.iter_custom(|iters| contended(iters, || failsafe.call(|| Ok::<_, ()>(())).unwrap()));
    });
    let recloser = recloser();
    group.bench_function("recloser", |b| {
        b.iter_custom(|iters| contended(iters, || recloser.call(|| Ok::<_, ()>(())).unwrap()));
    });
    group.finish();
}

/// tower's retry policy at its simplest: retry errors, up to `0` more times.
#[derive(Clone)]
struct Attempts(u32);

impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for Attempts {
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Res, E>) -> Option<Ready<()>> {
        match result {
            Err(_) if self.0 > 0 => {
                self.0 -= 1;
                Some(ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .build()
}

fn retry(c: &mut Criterion) {
    let mut group = c.benchmark_group("retry_no_failure");
    let rt = runtime();
    let ours = retry_policy();
    group.bench_function("steadfast_direct", |b| {
        b.to_async(&rt)
            .iter(|| ours.call(|| async { Ok::<_, Error>(()) }));
    });
    let ours = RefCell::new(RetryLayer::new(retry_policy()).layer(ok_service()));
    group.bench_function("steadfast_layer", |b| {
        b.to_async(&rt).iter(|| call_once(&ours));
    });
    let tower = RefCell::new(tower::retry::RetryLayer::new(Attempts(2)).layer(ok_service()));
    group.bench_function("tower_retry", |b| {
        b.to_async(&rt).iter(|| call_once(&tower));
    });
    let layer = tower_resilience::retry::RetryLayer::<(), (), Infallible>::builder()
        .max_attempts(3)
        .fixed_backoff(Duration::from_millis(10))
        .build();
    let peer = RefCell::new(layer.layer(ok_service()));
    group.bench_function("tower_resilience", |b| {
        b.to_async(&rt).iter(|| call_once(&peer));
    });
    group.finish();
}

/// Every stage configured, none of them in the way of a healthy call.
fn full_pipeline() -> Pipeline {
    Pipeline::builder()
        .name("bench")
        .deadline(60 * SEC)
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .budget(Budget::new(0.2, 10.0, 10 * SEC))
                .build(),
        )
        .breaker(count_breaker())
        .rate_limit(
            RateLimit::builder()
                .requests(Quota::per_second(1_000_000_000))
                .build(),
        )
        .bulkhead(Bulkhead::builder(1024).build())
        .timeout(30 * SEC)
        .fault(FaultPolicy::off())
        .build()
}

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline_no_failure");
    let rt = runtime();
    group.bench_function("bare_call", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(Ok::<_, Error>(())) });
    });
    let empty = Pipeline::builder().build();
    group.bench_function("steadfast_no_stages", |b| {
        b.to_async(&rt)
            .iter(|| empty.call(|| async { Ok::<_, Error>(()) }));
    });
    let typical = Pipeline::builder()
        .retry(retry_policy())
        .breaker(count_breaker())
        .timeout(30 * SEC)
        .build();
    group.bench_function("steadfast_retry_breaker_timeout", |b| {
        b.to_async(&rt)
            .iter(|| typical.call(|| async { Ok::<_, Error>(()) }));
    });
    let full = full_pipeline();
    group.bench_function("steadfast_full", |b| {
        b.to_async(&rt)
            .iter(|| full.call(|| async { Ok::<_, Error>(()) }));
    });
    let layered = RefCell::new(full_pipeline().layer().layer(ok_service()));
    group.bench_function("steadfast_full_layer", |b| {
        b.to_async(&rt).iter(|| call_once(&layered));
    });
    group.finish();
}

/// Each stage alone, to show where a full pipeline's time goes.
fn pipeline_stages(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline_one_stage");
    let rt = runtime();
    let stages = [
        ("deadline", Pipeline::builder().deadline(60 * SEC)),
        (
            "retry_with_budget",
            Pipeline::builder().retry(
                RetryPolicy::builder()
                    .budget(Budget::new(0.2, 10.0, 10 * SEC))
                    .build(),
            ),
        ),
        ("breaker", Pipeline::builder().breaker(count_breaker())),
        (
            "rate_limit",
            Pipeline::builder().rate_limit(
                RateLimit::builder()
                    .requests(Quota::per_second(1_000_000_000))
                    .build(),
            ),
        ),
        (
            "bulkhead",
            Pipeline::builder().bulkhead(Bulkhead::builder(1024).build()),
        ),
        ("timeout", Pipeline::builder().timeout(30 * SEC)),
        ("fault_off", Pipeline::builder().fault(FaultPolicy::off())),
    ];
    for (name, builder) in stages {
        let pipeline = builder.build();
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| pipeline.call(|| async { Ok::<_, Error>(()) }));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings();
    targets = breaker_single, breaker_service, breaker_contended, retry, pipeline, pipeline_stages
}
criterion_main!(benches);
