//! Weighted fallback: spread load by adaptive weights, fail over by weight.

use std::future::Future;
use std::sync::Arc;

use super::attempt::{AllFailed, AttemptInfo, AttemptOutcome, FailoverOn, Success};
use super::run::Common;
use super::sequential::in_order;
use super::weights::TargetWeights;
use super::{Fallback, Scope, Target};
use crate::Outcome;
use crate::classify::AsFailure;
use crate::events::Events;
use crate::rng::Rng;

/// How [`Weighted`] picks the first target of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pick {
    /// At random, each target with a chance proportional to its effective
    /// weight: traffic shares follow the weights.
    #[default]
    WeightedRandom,
    /// Two distinct available targets at random, the heavier of them: cheap,
    /// and never picks the lightest target (unless it is the only one).
    PowerOfTwoChoices,
}

/// Picks the first target by effective weight (see [`TargetWeights`]), then
/// fails over through the others in descending effective weight, as
/// [`Sequential`](super::Sequential) does. Unavailable targets weigh 0.
///
/// By default every run records the outcome and latency of its calls into the
/// weights; turn that off with [`Weighted::record_outcomes`] when the caller
/// records them itself.
#[derive(Debug, Clone)]
pub struct Weighted {
    common: Common,
    weights: Arc<TargetWeights>,
    pick: Pick,
    rng: Arc<Rng>,
    record_outcomes: bool,
}

impl Weighted {
    /// A strategy named `"weighted"` over `weights` (one per target, in target
    /// order; targets beyond them weigh 0), picking by [`Pick::WeightedRandom`]
    /// from an entropy-seeded [`Rng`].
    pub fn new(weights: Arc<TargetWeights>) -> Weighted {
        Weighted {
            common: Common::new("weighted"),
            weights,
            pick: Pick::default(),
            rng: Arc::new(Rng::from_entropy()),
            record_outcomes: true,
        }
    }

    super::common_setters!(Weighted);

    /// How the first target is picked.
    pub fn pick(mut self, pick: Pick) -> Weighted {
        self.pick = pick;
        self
    }

    /// The random source (seed it for reproducible runs).
    pub fn rng(mut self, rng: Rng) -> Weighted {
        self.rng = Arc::new(rng);
        self
    }

    /// Whether runs record their calls' outcomes into the weights (default `true`).
    pub fn record_outcomes(mut self, record: bool) -> Weighted {
        self.record_outcomes = record;
        self
    }

    /// The weights this strategy reads.
    pub fn weights(&self) -> &Arc<TargetWeights> {
        &self.weights
    }

    /// The order a run would try `targets` in: a picked first target, then the
    /// others by descending effective weight (ties by index).
    pub fn order<T: Target>(&self, targets: &[T]) -> Vec<usize> {
        self.order_in(Scope::all(), targets)
    }

    /// [`Weighted::order`], the first target picked among those of `scope`.
    fn order_in<T: Target>(&self, scope: Scope<'_>, targets: &[T]) -> Vec<usize> {
        let snapshot = self.weights.weights();
        let mut weights = vec![0.0; targets.len()];
        let mut available = Vec::with_capacity(targets.len());
        for (index, target) in targets.iter().enumerate() {
            if scope.includes(index) && target.is_available() {
                available.push(index);
                weights[index] = snapshot.get(index).map_or(0.0, |weight| weight.effective);
            }
        }
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
        let first = match self.pick {
            Pick::WeightedRandom => self.weighted_random(&weights, &available),
            Pick::PowerOfTwoChoices => self
                .rng
                .better_of_two(&available, |b, a| weights[b] > weights[a]),
        };
        if let Some(position) = first.and_then(|first| order.iter().position(|&i| i == first)) {
            order[..=position].rotate_right(1);
        }
        order
    }

    super::run_by_fallback!(
        "Runs `call` on the targets in [`Weighted::order`] until one succeeds."
    );

    /// A target drawn with chances proportional to `weights`; uniformly among
    /// the available ones when all weigh 0.
    fn weighted_random(&self, weights: &[f64], available: &[usize]) -> Option<usize> {
        self.rng.weighted(weights).or_else(|| {
            let drawn = self.rng.below(available.len() as u64) as usize;
            available.get(drawn).copied()
        })
    }
}

impl Fallback for Weighted {
    type Outcome<R, E> = Result<Success<R>, AllFailed<E>>;

    async fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        call: F,
    ) -> Result<Success<R>, AllFailed<E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let result = in_order(
            &self.common,
            scope,
            targets,
            self.order_in(scope, targets),
            call,
        )
        .await;
        if self.record_outcomes {
            let attempts = match &result {
                Ok(success) => &success.attempts,
                Err(failed) => &failed.attempts,
            };
            for attempt in attempts {
                let outcome = match attempt.outcome {
                    AttemptOutcome::Served => Outcome::Success,
                    AttemptOutcome::Failed(failure) => Outcome::Failure(failure),
                    AttemptOutcome::Skipped(_) | AttemptOutcome::Cancelled => continue,
                };
                self.weights.record(attempt.index, outcome, attempt.elapsed);
            }
        }
        result
    }
}
