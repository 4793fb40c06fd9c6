//! Request traces: a `request` span around each routed request and an
//! `attempt` span around each upstream call, at debug level under the
//! [`TARGET`] target. Without the `otlp` feature and an OTLP endpoint no
//! layer asks for them, so they cost a cached callsite check; with it the
//! binary exports them over OTLP, and they join the client's trace from its
//! `traceparent` header and pass theirs on to the upstream.

use http::HeaderMap;
use tracing::Span;
use tracing::field::Empty;

/// The `tracing` target of every span exported as a trace.
pub const TARGET: &str = "steadfast::trace";

/// The span of one routed request, a child of the client's trace if its
/// headers carry one.
pub fn request_span(route: &str, request_id: &str, headers: &HeaderMap) -> Span {
    let span = tracing::debug_span!(
        target: TARGET,
        "request",
        otel.name = %format_args!("route {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        route,
        request_id,
        outcome = Empty,
        target = Empty,
        attempts = Empty,
    );
    #[cfg(feature = "otlp")]
    super::otlp::adopt_parent(&span, headers);
    #[cfg(not(feature = "otlp"))]
    let _ = headers;
    span
}

/// The span of one attempt on target `name`, which runs `upstream_model` on
/// `provider`.
pub fn attempt_span(name: &str, provider: &str, upstream_model: &str) -> Span {
    tracing::debug_span!(
        target: TARGET,
        "attempt",
        otel.name = %format_args!("attempt {name}"),
        otel.kind = "client",
        otel.status_code = Empty,
        target = name,
        provider,
        upstream_model,
        failure = Empty,
    )
}

/// Marks `span` failed with the failure kind `kind`.
pub fn failed(span: &Span, kind: &str) {
    span.record("otel.status_code", "ERROR");
    span.record("failure", kind);
}

/// Adds the current span's trace context to an upstream request's
/// `headers` as `traceparent` (a no-op unless traces are exported).
pub fn propagate(headers: &mut HeaderMap) {
    #[cfg(feature = "otlp")]
    super::otlp::inject(headers);
    #[cfg(not(feature = "otlp"))]
    let _ = headers;
}
