//! Trace context across the gateway (cargo feature `otlp`): a request span
//! joins the client's trace from its `traceparent` header, and an upstream
//! call carries the current span's `traceparent` on. Exporting the spans is
//! the binary's business; without an exporter the spans are disabled and
//! both functions do nothing.

use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Makes `span` a child of the trace in `headers`' `traceparent`, if any.
pub(super) fn adopt_parent(span: &Span, headers: &HeaderMap) {
    if !span.is_disabled() && headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&HeaderReader(headers));
        // Fails only for a span no layer records: nothing to do then.
        let _ = span.set_parent(parent);
    }
}

/// Adds the current span's `traceparent` to `headers`.
/// Without an exported span (no endpoint configured) it does nothing.
pub(super) fn inject(headers: &mut HeaderMap) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderWriter(headers));
}

struct HeaderReader<'a>(&'a HeaderMap);

impl Extractor for HeaderReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderWriter<'a>(&'a mut HeaderMap);

impl Injector for HeaderWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(key),
            http::HeaderValue::try_from(value),
        ) {
            self.0.insert(name, value);
        }
    }
}
