//! OTLP/HTTP export of the request traces (cargo feature `otlp`): on when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is
//! set, with the other standard `OTEL_*` variables (headers, timeout, batch
//! delay, `OTEL_SERVICE_NAME`, default `steadfast`) honoured by the SDK.
//! Spans leave in batches from the SDK's own thread, so a slow or absent
//! collector never holds a request up; [`Exporter`] flushes on drop. The
//! spans themselves, and the trace context they carry in and out, are the
//! proxy's (`steadfast_proxy::telemetry::trace`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The environment variables that turn export on.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The running export; flushes what is buffered when dropped.
#[derive(Debug)]
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("error: flushing traces: {error}");
        }
    }
}

impl Exporter {
    /// Starts the export if an endpoint is set in the environment.
    pub fn from_env() -> anyhow::Result<Option<Exporter>> {
        let Some(endpoint) = ENDPOINT_VARS
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        else {
            return Ok(None);
        };
        let traces_url = if std::env::var(ENDPOINT_VARS[0]).is_ok_and(|v| !v.is_empty()) {
            endpoint
        } else {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(traces_url)
            .build()?;
        let mut resource = Resource::builder();
        if std::env::var("OTEL_SERVICE_NAME").is_err() {
            resource = resource.with_service_name("steadfast");
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        Ok(Some(Exporter { provider }))
    }

    /// A `tracing` layer that turns spans into exported traces.
    pub fn layer<S>(
        &self,
    ) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("steadfast"))
    }
}
