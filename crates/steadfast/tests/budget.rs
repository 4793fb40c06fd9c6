//! Public behaviour of the retry budget.

use std::time::Duration;

use proptest::prelude::*;
use steadfast::budget::{Budget, BudgetSnapshot};

const WINDOW: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn ratio_of_deposits_plus_floor() {
    // 10 % of deposits plus 0.2/s * 10 s = 2 withdrawals of floor.
    let budget = Budget::new(0.1, 0.2, WINDOW);
    for _ in 0..30 {
        budget.deposit();
    }
    let granted = (0..100).filter(|_| budget.try_withdraw()).count();
    assert_eq!(granted, 5);
    assert_eq!(
        budget.snapshot(),
        BudgetSnapshot {
            deposits: 30,
            withdrawals: 5,
            remaining: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_account() {
    let budget = Budget::new(0.5, 0.0, WINDOW);
    let other = budget.clone();
    budget.deposit();
    budget.deposit();
    assert!(other.try_withdraw());
    assert!(!budget.try_withdraw());
}

#[tokio::test(start_paused = true)]
async fn window_slides_bucket_by_bucket() {
    let budget = Budget::new(1.0, 0.0, WINDOW);
    budget.deposit(); // t = 0
    tokio::time::advance(Duration::from_secs(5)).await;
    budget.deposit(); // t = 5
    assert_eq!(budget.snapshot().deposits, 2);
    tokio::time::advance(Duration::from_secs(5)).await; // t = 10: the first expired
    assert_eq!(budget.snapshot().deposits, 1);
    assert!(budget.try_withdraw());
    assert!(!budget.try_withdraw());
    tokio::time::advance(Duration::from_secs(5)).await; // t = 15: deposits expired
    assert_eq!(
        budget.snapshot(),
        BudgetSnapshot {
            deposits: 0,
            withdrawals: 1,
            remaining: 0
        }
    );
    tokio::time::advance(Duration::from_secs(5)).await; // t = 20: all expired
    assert_eq!(
        budget.snapshot(),
        BudgetSnapshot {
            deposits: 0,
            withdrawals: 0,
            remaining: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_withdrawals_never_overdraw() {
    let budget = Budget::new(0.2, 0.0, Duration::from_secs(3600));
    for _ in 0..1000 {
        budget.deposit();
    }
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let budget = budget.clone();
            tokio::spawn(async move { (0..200).filter(|_| budget.try_withdraw()).count() })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        granted += task.await.unwrap();
    }
    assert_eq!(granted, 200);
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Deposit,
    Withdraw,
}

proptest! {
    #[test]
    fn withdrawals_never_exceed_floor_plus_ratio(
        ratio_percent in 0u32..200,
        floor_per_sec_tenths in 0u32..20,
        ops in proptest::collection::vec(prop_oneof![Just(Op::Deposit), Just(Op::Withdraw)], 0..400),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let ratio = f64::from(ratio_percent) / 100.0;
            let min_per_sec = f64::from(floor_per_sec_tenths) / 10.0;
            let budget = Budget::new(ratio, min_per_sec, WINDOW);
            let floor = min_per_sec * WINDOW.as_secs_f64();
            let (mut deposits, mut granted) = (0u32, 0u32);
            for op in ops {
                match op {
                    Op::Deposit => {
                        budget.deposit();
                        deposits += 1;
                    }
                    Op::Withdraw => {
                        let limit = floor + ratio * f64::from(deposits);
                        let fits = f64::from(granted + 1) <= limit + 1e-9;
                        prop_assert_eq!(budget.try_withdraw(), fits);
                        granted += u32::from(fits);
                    }
                }
                prop_assert!(f64::from(granted) <= floor + ratio * f64::from(deposits) + 1e-9);
            }
            Ok(())
        })?;
    }
}
