//! The pipeline as a tower middleware.

use std::future::Future;

use super::Pipeline;
use crate::Error;
use crate::classify::Classify;
use crate::policy_layer::{AttemptPolicy, attempt_middleware};

attempt_middleware! {
    policy: Pipeline,
    /// Wraps services in a [`PipelineService`] sharing one [`Pipeline`]; made by
    /// [`PipelineLayer::new`] or [`Pipeline::layer`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::pipeline::Pipeline;
    /// use tower::{ServiceBuilder, service_fn};
    ///
    /// let pipeline = Pipeline::builder().timeout(Duration::from_secs(20)).build();
    /// let service = ServiceBuilder::new()
    ///     .layer(pipeline.layer())
    ///     .service(service_fn(|prompt: String| async move { Ok::<_, std::io::Error>(prompt) }));
    /// # let _ = service;
    /// ```
    layer: PipelineLayer,
    /// A service running every request through a [`Pipeline`]. The first attempt
    /// uses the inner service driven to readiness by `poll_ready`; each retry uses
    /// a clone of it (driven to readiness) and of the request.
    service: PipelineService,
}

impl AttemptPolicy for Pipeline {
    fn run_attempts<T, C, F, Fut>(
        &self,
        classifier: &C,
        attempt: F,
    ) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send,
        C: Classify<T, Error> + Sync,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send,
    {
        self.call_classified(classifier, attempt)
    }
}

impl<S, C> PipelineService<S, C> {
    /// The pipeline in use (the same as [`policy`](Self::policy)).
    pub fn pipeline(&self) -> &Pipeline {
        self.policy()
    }
}
