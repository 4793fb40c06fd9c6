//! The tower middleware of the policies that run one call's attempts —
//! retry, hedging and the pipeline. [`attempt_middleware!`] writes, for one
//! such policy, its layer (holding the policy and a classifier), its service
//! and its `ResponseFuture`: the first attempt uses the inner service driven
//! to readiness by `poll_ready`, every other attempt a clone of it (driven to
//! readiness) and of the request.
//!
//! The module is private: users name the types in each policy's module
//! (`retry::{RetryLayer, RetryService, ResponseFuture}`, and likewise in
//! `hedge` and `pipeline`). They are real types rather than aliases of one
//! generic type, so that their docs list their methods and their names are
//! the ones users see in compiler errors.

use std::future::Future;
use std::pin::Pin;

use futures_util::future::poll_fn;
use tower_service::Service;

use crate::classify::Classify;
use crate::{BoxError, Error};

/// The future of every attempt-running service.
pub(crate) type ResponseFuture<T> =
    Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// A policy that runs the attempts of one call: [`RetryPolicy`],
/// [`HedgePolicy`] and [`Pipeline`] implement it.
///
/// [`RetryPolicy`]: crate::retry::RetryPolicy
/// [`HedgePolicy`]: crate::hedge::HedgePolicy
/// [`Pipeline`]: crate::pipeline::Pipeline
pub(crate) trait AttemptPolicy: Clone + Send + Sync + 'static {
    /// Runs the call, making each attempt with `attempt` and judging its
    /// result with `classifier`.
    fn run_attempts<T, C, F, Fut>(
        &self,
        classifier: &C,
        attempt: F,
    ) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send,
        C: Classify<T, Error> + Sync,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send;
}

/// Writes the layer, the service and the `ResponseFuture` of an
/// [`AttemptPolicy`], each with the given doc comment.
macro_rules! attempt_middleware {
    (
        policy: $policy:ident,
        $(#[$layer_doc:meta])*
        layer: $layer:ident,
        $(#[$service_doc:meta])*
        service: $service:ident $(,)?
    ) => {
        $(#[$layer_doc])*
        #[derive(Debug, Clone)]
        pub struct $layer<C = $crate::classify::ByFailure> {
            policy: $policy,
            classifier: C,
        }

        impl $layer {
            /// A layer sharing `policy`, judging results by
            /// [`Error::failure`](crate::Error::failure) (`Ok` is a success).
            pub fn new(policy: $policy) -> $layer {
                $layer {
                    policy,
                    classifier: $crate::classify::ByFailure,
                }
            }
        }

        impl<C> $layer<C> {
            /// This layer with `classifier` judging each response instead.
            pub fn with_classifier<D>(self, classifier: D) -> $layer<D> {
                $layer {
                    policy: self.policy,
                    classifier,
                }
            }
        }

        impl<S, C: Clone> tower_layer::Layer<S> for $layer<C> {
            type Service = $service<S, C>;

            fn layer(&self, inner: S) -> $service<S, C> {
                $service {
                    inner,
                    policy: self.policy.clone(),
                    classifier: self.classifier.clone(),
                }
            }
        }

        impl $policy {
            #[doc = concat!("A tower layer running every request of a service under this policy: [`", stringify!($layer), "::new`] of a clone.")]
            pub fn layer(&self) -> $layer {
                $layer::new(self.clone())
            }
        }

        $(#[$service_doc])*
        #[derive(Debug, Clone)]
        pub struct $service<S, C = $crate::classify::ByFailure> {
            inner: S,
            policy: $policy,
            classifier: C,
        }

        impl<S> $service<S> {
            /// Wraps `inner` in `policy`, judging results by [`Error::failure`](crate::Error::failure).
            pub fn new(inner: S, policy: $policy) -> $service<S> {
                tower_layer::Layer::layer(&$layer::new(policy), inner)
            }
        }

        impl<S, C> $service<S, C> {
            /// The policy, for its statistics.
            pub fn policy(&self) -> &$policy {
                &self.policy
            }

            /// The inner service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The inner service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the inner service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }

        impl<S, C, Req> tower_service::Service<Req> for $service<S, C>
        where
            S: tower_service::Service<Req> + Clone + Send + 'static,
            S::Future: Send,
            S::Response: Send + 'static,
            S::Error: $crate::classify::AsFailure + Into<$crate::BoxError>,
            Req: Clone + Send + 'static,
            C: $crate::classify::Classify<S::Response, $crate::Error> + Clone + Send + Sync + 'static,
        {
            type Response = S::Response;
            type Error = $crate::Error;
            type Future = ResponseFuture<S::Response>;

            fn poll_ready(
                &mut self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), $crate::Error>> {
                self.inner.poll_ready(cx).map_err($crate::Error::judged)
            }

            fn call(&mut self, request: Req) -> Self::Future {
                use $crate::policy_layer::AttemptPolicy as _;
                let mut attempts = $crate::policy_layer::Attempts::take(&mut self.inner);
                let policy = self.policy.clone();
                let classifier = self.classifier.clone();
                Box::pin(async move {
                    policy
                        .run_attempts(&classifier, move || attempts.next(request.clone()))
                        .await
                })
            }
        }

        #[doc = concat!("The future of a [`", stringify!($service), "`] call: every attempt, boxed.")]
        pub type ResponseFuture<T> = $crate::policy_layer::ResponseFuture<T>;
    };
}

pub(crate) use attempt_middleware;

/// The services for the attempts of one call: the one driven to readiness
/// serves the first attempt; later attempts use clones of `template`, driven to
/// readiness each time.
pub(crate) struct Attempts<S> {
    ready: Option<S>,
    template: S,
}

impl<S: Clone> Attempts<S> {
    /// Takes the ready service out of `inner`, leaving a clone in its place.
    pub(crate) fn take(inner: &mut S) -> Attempts<S> {
        let template = inner.clone();
        let ready = std::mem::replace(inner, template.clone());
        Attempts {
            ready: Some(ready),
            template,
        }
    }

    /// Sends `request` on the next attempt's service.
    pub(crate) fn next<Req>(
        &mut self,
        request: Req,
    ) -> impl Future<Output = Result<S::Response, Error>> + use<S, Req>
    where
        S: Service<Req>,
        S::Error: crate::classify::AsFailure + Into<BoxError>,
    {
        let first = self.ready.take();
        let is_ready = first.is_some();
        let mut service = first.unwrap_or_else(|| self.template.clone());
        async move {
            if !is_ready {
                poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(Error::judged)?;
            }
            service.call(request).await.map_err(Error::judged)
        }
    }
}
