//! Batch execution: many calls under one retry policy with bounded concurrency.

use std::future::Future;

use futures_util::stream::{self, StreamExt};

use super::RetryPolicy;
use crate::classify::AsFailure;
use crate::{BoxError, Error};

impl RetryPolicy {
    /// Runs every op as its own retried call, at most `concurrency` (at least
    /// one) at a time, and returns the results in the order of `ops`.
    ///
    /// ```
    /// use steadfast::retry::RetryPolicy;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let retry = RetryPolicy::builder().build();
    /// let ops = (0..4).map(|i| move || async move { Ok::<_, std::io::Error>(i * 10) });
    /// let results = retry.call_all(ops, 2).await;
    /// let values: Vec<_> = results.into_iter().map(Result::ok).collect();
    /// assert_eq!(values, [Some(0), Some(10), Some(20), Some(30)]);
    /// # }
    /// ```
    pub async fn call_all<T, E, F, Fut, I>(
        &self,
        ops: I,
        concurrency: usize,
    ) -> Vec<Result<T, Error>>
    where
        I: IntoIterator<Item = F>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        stream::iter(ops)
            .map(|op| self.call(op))
            .buffered(concurrency.max(1))
            .collect()
            .await
    }
}
