//! `steadfast mock`: a simulated model provider speaking a real wire format
//! (OpenAI's or Anthropic's) over real sockets, with faults settable at start and at run time. Tests,
//! demos and chaos runs put it where a real provider would be.
//!
//! Control API (on the provider's own port, or on `--control ADDR` so it stays
//! reachable while the provider refuses connections):
//! `GET /_mock/faults`, `PUT /_mock/faults` (a [`Faults`] JSON), `GET /_mock/counts`.

mod anthropic;
mod azure;
mod bedrock;
mod control;
mod gemini;
mod openai;
mod respond;
mod vertex;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use control::{Control, Counts, Faults, Mode};

use steadfast_config::ProviderKind;
use steadfast_net as net;

/// What a simulated provider is.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// The kind of provider it simulates (its wire format and addressing).
    pub kind: ProviderKind,
    /// Address for the model API (port 0 picks a free one).
    pub listen: SocketAddr,
    /// A separate address for the control API, if wanted.
    pub control: Option<SocketAddr>,
    /// The provider's name, used in its answers ("primary here. You said: …").
    pub name: String,
    /// The starting faults.
    pub faults: Faults,
    /// Seed of the random failures.
    pub seed: u64,
    /// Bedrock: the secret access key calls must be signed with (any
    /// access key id); the simulated provider checks every signature.
    pub aws_secret: String,
    /// Vertex AI: the public key (PEM) of the service account whose signed
    /// JWTs the token endpoint takes; the signature of every assertion is
    /// checked with it. None takes any signature (for demos only).
    pub google_public_key: Option<String>,
}

/// The secret access key a simulated Bedrock provider checks signatures
/// with, unless told another.
pub const MOCK_AWS_SECRET: &str = "steadfast-mock-aws-secret";

impl MockOptions {
    /// A healthy provider named `name` on a free loopback port.
    pub fn named(name: &str) -> MockOptions {
        MockOptions {
            kind: ProviderKind::Openai,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            control: None,
            name: name.to_owned(),
            faults: Faults::default(),
            seed: 1,
            aws_secret: MOCK_AWS_SECRET.to_owned(),
            google_public_key: None,
        }
    }
}

pub(crate) struct MockState {
    name: String,
    kind: ProviderKind,
    control: Arc<Control>,
    aws_secret: String,
    google_public_key: Option<String>,
}

/// A running simulated provider. Dropping it stops it.
pub struct MockServer {
    kind: ProviderKind,
    addr: SocketAddr,
    control_addr: Option<SocketAddr>,
    control: Arc<Control>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a provider; returns once it is listening.
    pub async fn start(options: MockOptions) -> std::io::Result<MockServer> {
        let control = Arc::new(Control::new(options.faults, options.seed));
        let state = Arc::new(MockState {
            name: options.name,
            kind: options.kind,
            control: Arc::clone(&control),
            aws_secret: options.aws_secret,
            google_public_key: options.google_public_key,
        });
        let listener = net::bind(options.listen)?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            addr,
            api_router(options.kind, Arc::clone(&state)),
            Arc::clone(&control),
            stop.clone(),
        ))];
        let mut control_addr = None;
        if let Some(listen) = options.control {
            let listener = net::bind(listen)?;
            control_addr = Some(listener.local_addr()?);
            let router = control_router().with_state(Arc::clone(&state));
            tasks.push(tokio::spawn(net::serve(
                listener,
                router,
                stop,
                net::ServeOptions::default(),
            )));
        }
        Ok(MockServer {
            kind: options.kind,
            addr,
            control_addr,
            control,
            shutdown,
            tasks,
        })
    }

    /// The model API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to configure as a provider of its kind: `http://ADDR/v1`
    /// for OpenAI, `http://ADDR` for Anthropic, Azure (the resource endpoint),
    /// Gemini, Bedrock and Vertex AI (whose token endpoint is `http://ADDR/token`).
    pub fn base_url(&self) -> String {
        match self.kind {
            ProviderKind::Openai => format!("http://{}/v1", self.addr),
            ProviderKind::Anthropic
            | ProviderKind::Azure
            | ProviderKind::Gemini
            | ProviderKind::Bedrock
            | ProviderKind::Vertex => {
                format!("http://{}", self.addr)
            }
        }
    }

    /// The separate control address, if one was asked for.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// The fault controls and counters.
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// Waits until the provider stops (it runs until dropped or shut down).
    pub async fn wait(mut self) {
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn api_router(kind: ProviderKind, state: Arc<MockState>) -> Router {
    let api = match kind {
        ProviderKind::Openai => Router::new()
            .route("/v1/chat/completions", post(openai::chat))
            .route("/v1/completions", post(openai::completions))
            .route("/v1/embeddings", post(openai::embeddings))
            .route("/v1/models", get(openai::models)),
        ProviderKind::Anthropic => Router::new()
            .route("/v1/messages", post(anthropic::messages))
            .route("/v1/models", get(anthropic::models)),
        ProviderKind::Azure => azure::routes(),
        // Vertex AI serves its stable API (`v1`) and `v1beta1`, which
        // google-genai calls in Vertex AI mode.
        ProviderKind::Vertex => Router::new()
            .route("/token", post(vertex::token))
            .route(
                "/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{call}",
                post(vertex::call),
            )
            .route(
                "/v1beta1/projects/{project}/locations/{location}/publishers/{publisher}/models/{call}",
                post(vertex::call),
            ),
        ProviderKind::Bedrock => Router::new()
            .route("/model/{model}/converse", post(bedrock::converse))
            .route(
                "/model/{model}/converse-stream",
                post(bedrock::converse_stream),
            ),
        // Both API versions the SDKs call (google-genai defaults to v1beta).
        ProviderKind::Gemini => Router::new()
            .route("/v1beta/models", get(gemini::models))
            .route("/v1beta/models/{call}", post(gemini::call))
            .route("/v1/models", get(gemini::models))
            .route("/v1/models/{call}", post(gemini::call)),
    };
    // Requests as large as providers take (Anthropic's Messages API refuses
    // past 32 MB; OpenAI's chat completions take as much), not axum's 2 MB.
    api.layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .merge(control_router())
        .with_state(state)
}

/// The largest request body a simulated provider takes.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

fn control_router() -> Router<Arc<MockState>> {
    Router::new()
        .route("/_mock/faults", get(get_faults).put(put_faults))
        .route("/_mock/counts", get(get_counts))
}

async fn get_faults(State(state): State<Arc<MockState>>) -> Json<Faults> {
    Json(state.control.faults())
}

async fn put_faults(
    State(state): State<Arc<MockState>>,
    Json(faults): Json<Faults>,
) -> Json<Faults> {
    state.control.set(faults);
    Json(state.control.faults())
}

async fn get_counts(State(state): State<Arc<MockState>>) -> Json<Counts> {
    Json(state.control.counts())
}

/// Serves the model API, closing the listening socket and every open
/// connection while the mode is [`Mode::Refuse`], and re-binding the same port
/// when it changes back.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: Router,
    control: Arc<Control>,
    mut stop: watch::Receiver<bool>,
) {
    let builder = net::http_builder(&net::ServeOptions::default());
    let mut listener = Some(listener);
    let mut faults = control.watch();
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        if matches!(faults.borrow_and_update().mode, Mode::Refuse) {
            listener = None;
            connections.abort_all();
        } else if listener.is_none() {
            match net::bind(addr) {
                Ok(bound) => listener = Some(bound),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        tokio::select! {
            accepted = accept(listener.as_ref()) => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(net::serve_connection(&builder, stream, router.clone()));
                }
            }
            changed = faults.changed() => if changed.is_err() { return },
            _ = net::wait_for(&mut stop) => return,
        }
    }
}

async fn accept(
    listener: Option<&tokio::net::TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}
