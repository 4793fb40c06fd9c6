//! The pipeline as a tower middleware.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::Pipeline;
use crate::classify::{ByFailure, Classify, Failure};
use crate::error::{BoxError, Error};
use crate::retry::layer::Attempts;

/// The future of a [`PipelineService`].
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// Wraps services in a [`PipelineService`] sharing one [`Pipeline`].
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
#[derive(Debug, Clone)]
pub struct PipelineLayer<C = ByFailure> {
    pipeline: Pipeline,
    classifier: C,
}

impl PipelineLayer {
    /// A layer judging responses with [`ByFailure`]: `Ok` is a success, an
    /// error by its [`Error::failure`].
    pub fn new(pipeline: Pipeline) -> PipelineLayer {
        PipelineLayer {
            pipeline,
            classifier: ByFailure,
        }
    }
}

impl<C> PipelineLayer<C> {
    /// Judges responses with `classifier` instead.
    pub fn with_classifier<D>(self, classifier: D) -> PipelineLayer<D> {
        PipelineLayer {
            pipeline: self.pipeline,
            classifier,
        }
    }
}

impl<S, C: Clone> Layer<S> for PipelineLayer<C> {
    type Service = PipelineService<S, C>;

    fn layer(&self, inner: S) -> PipelineService<S, C> {
        PipelineService {
            inner,
            pipeline: self.pipeline.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service running every request through a [`Pipeline`]. The first attempt
/// uses the inner service driven to readiness by `poll_ready`; each retry uses
/// a clone of it (driven to readiness) and of the request.
#[derive(Debug, Clone)]
pub struct PipelineService<S, C = ByFailure> {
    inner: S,
    pipeline: Pipeline,
    classifier: C,
}

impl<S> PipelineService<S> {
    /// Wraps `inner` in `pipeline`, judging with [`ByFailure`].
    pub fn new(inner: S, pipeline: Pipeline) -> PipelineService<S> {
        PipelineLayer::new(pipeline).layer(inner)
    }
}

impl<S, C> PipelineService<S, C> {
    /// The pipeline in use.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, Req> Service<Req> for PipelineService<S, C>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    Req: Clone + Send + 'static,
    C: Classify<S::Response, Error> + Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| Error::from_boxed(e.into(), Failure::transient()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let mut attempts = Attempts::take(&mut self.inner);
        let pipeline = self.pipeline.clone();
        let classifier = self.classifier.clone();
        Box::pin(async move {
            pipeline
                .call_classified(&classifier, move || attempts.next(request.clone()))
                .await
        })
    }
}
