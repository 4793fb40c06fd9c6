//! Proof that the breaker's happy path (and a full pipeline's), a learned
//! concurrency limit's place and a shedding route's place allocate nothing,
//! with a counting global allocator.
//!
//! One test function only: the allocator counts every thread, and other tests
//! running at the same time would be counted too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::time::Duration;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use steadfast::Error;
use steadfast::adaptive::AdaptiveLimit;
use steadfast::breaker::Breaker;
use steadfast::budget::Budget;
use steadfast::bulkhead::Bulkhead;
use steadfast::fault::FaultPolicy;
use steadfast::pipeline::Pipeline;
use steadfast::rate_limit::{Quota, RateLimit};
use steadfast::retry::RetryPolicy;
use steadfast_config::{Priority, SheddingConfig};
use steadfast_proxy::runtime::shed::Shedder;

#[path = "../benches/common/target.rs"]
mod target;

use target::gateway_target;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ITERATIONS: usize = 1000;
const SEC: Duration = Duration::from_secs(1);

/// Allocations made while running `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    region.change().allocations
}

fn full_pipeline() -> Pipeline {
    Pipeline::builder()
        .deadline(60 * SEC)
        .retry(
            RetryPolicy::builder()
                .budget(Budget::new(0.2, 10.0, 10 * SEC))
                .build(),
        )
        .breaker(Breaker::builder("gpt").build())
        .rate_limit(
            RateLimit::builder()
                .requests(Quota::per_second(1_000_000_000))
                .build(),
        )
        .bulkhead(Bulkhead::builder(16).build())
        .timeout(30 * SEC)
        .fault(FaultPolicy::off())
        .build()
}

#[test]
fn happy_paths_do_not_allocate() {
    // The counter works: a boxed value is one allocation.
    assert_eq!(allocations(|| drop(std::hint::black_box(Box::new(1)))), 1);

    for breaker in [
        Breaker::builder("count").count_window(100).build(),
        Breaker::builder("time").time_window(10 * SEC).build(),
        Breaker::builder("slow")
            .slow_call_duration(SEC)
            .count_window(100)
            .build(),
    ] {
        let made = allocations(|| {
            for _ in 0..ITERATIONS {
                breaker.try_acquire().unwrap().record_success();
            }
        });
        assert_eq!(made, 0, "breaker {}", breaker.name());
        assert_eq!(breaker.stats().successes, ITERATIONS as u64);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let pipeline = full_pipeline();
    let run = || async {
        for _ in 0..ITERATIONS {
            pipeline
                .call(|| async { Ok::<_, Error>(()) })
                .await
                .unwrap();
        }
    };
    // The first run may grow the runtime's own structures.
    runtime.block_on(run());
    let made = allocations(|| runtime.block_on(run()));
    assert_eq!(made, 0, "full pipeline");

    // A learned limit's place, with the limit rising and falling.
    let adaptive = AdaptiveLimit::builder().initial(4).max(64).build();
    let made = allocations(|| {
        for round in 0..ITERATIONS {
            let permit = adaptive.try_acquire().unwrap();
            if round % 50 == 0 {
                permit.overload();
            } else {
                permit.success();
            }
        }
    });
    assert_eq!(made, 0, "adaptive limit");
    assert_eq!(adaptive.stats().overloads, 20);

    // A shedding route's place over two learning targets, nothing waiting.
    let learning = || serde_json::json!({"adaptive_concurrency": {"initial": 64}});
    let targets = [
        gateway_target("a", learning()),
        gateway_target("b", learning()),
    ];
    let settings: SheddingConfig = serde_json::from_value(serde_json::json!({})).unwrap();
    let shedder = Shedder::new("chat", &settings, &targets, None);
    let admit = || async {
        for _ in 0..ITERATIONS {
            drop(shedder.admit(Priority::Normal, &targets).await.unwrap());
        }
    };
    runtime.block_on(admit());
    let made = allocations(|| runtime.block_on(admit()));
    assert_eq!(made, 0, "route admission");
}
