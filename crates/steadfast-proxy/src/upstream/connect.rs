//! Opening connections to providers: TCP (no Nagle, keep-alive probes),
//! through the proxy the environment names when it names one (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, read as curl reads them) by a
//! `CONNECT` tunnel, then TLS with the platform's trusted roots and ALPN
//! (HTTP/2 where the provider offers it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use rustls_platform_verifier::BuilderVerifierExt as _;
use tokio::net::TcpStream;
use tower_service::Service;

/// How long opening a TCP connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The error of a failed connection attempt.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects to a provider, directly or through a proxy tunnel.
#[derive(Clone)]
pub(super) struct Connector {
    tcp: HttpConnector,
    proxies: Arc<Matcher>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

/// The full connector: [`Connector`] under TLS for `https` URLs.
pub(super) fn https(proxies: Matcher) -> Result<HttpsConnector<Connector>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|error| format!("cannot set up TLS for providers: {error}"))?
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    tcp.set_keepalive(Some(Duration::from_secs(60)));
    let connector = Connector {
        tcp,
        proxies: Arc::new(proxies),
    };
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(connector))
}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let Some(proxy) = self.proxies.intercept(&destination) else {
            let connecting = self.tcp.call(destination);
            return Box::pin(async move { Ok(connecting.await?) });
        };
        let mut tunnel = Tunnel::new(proxy.uri().clone(), self.tcp.clone());
        if let Some(credentials) = proxy.basic_auth() {
            tunnel = tunnel.with_auth(credentials.clone());
        }
        // The tunnel assumes port 443 when the URL names none.
        let destination = with_port(destination);
        Box::pin(async move { Ok(tunnel.call(destination?).await?) })
    }
}

/// `uri` with its scheme's default port written out.
fn with_port(uri: Uri) -> Result<Uri, BoxError> {
    if uri.port().is_some() {
        return Ok(uri);
    }
    let port = if uri.scheme() == Some(&http::uri::Scheme::HTTP) {
        80
    } else {
        443
    };
    let host = uri.host().ok_or("the provider's URL names no host")?;
    let scheme = uri.scheme_str().unwrap_or("https");
    Ok(Uri::try_from(format!("{scheme}://{host}:{port}/"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnels_are_opened_to_the_scheme_port() {
        let uri = |text: &'static str| with_port(Uri::from_static(text)).unwrap().to_string();
        assert_eq!(uri("http://models.local/v1"), "http://models.local:80/");
        assert_eq!(
            uri("https://api.openai.com/v1"),
            "https://api.openai.com:443/"
        );
        assert_eq!(uri("http://10.0.0.5:8000/v1"), "http://10.0.0.5:8000/v1");
    }
}
