//! The shape of the config file, as serde reads it. Every struct refuses
//! unknown keys and gives every optional key a default.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::alerts::AlertsConfig;
use super::duration::ConfigDuration;
use super::env::Secret;
use super::strategy_values::{FailoverKind, HedgeAfter};

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where requests go, and how to speak to them.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Deployments: one upstream model on one provider, with its own policies.
    pub models: BTreeMap<String, ModelConfig>,
    /// What clients name in the `model` field, and how targets are chosen.
    pub routes: BTreeMap<String, RouteConfig>,
    /// Where breaker, health and rate-limit state lives.
    #[serde(default)]
    pub state: StateConfig,
    /// Alert rules and the channels they notify.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Client keys; when any is set, every model request must carry one.
    #[serde(default)]
    pub clients: BTreeMap<String, ClientConfig>,
}

/// One client of the gateway, identified by its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The client's key, as `"${TEAM_A_KEY}"`; sent as `Authorization: Bearer <key>`
    /// (or `x-api-key`).
    pub key: Secret,
    /// Requests per minute this client may send.
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
    /// How much of `requests_per_minute` may be sent at once after a quiet
    /// spell, as the time the rate takes to earn it (default 5s: a tenth of
    /// 120/min, at least one request).
    #[serde(default = "defaults::burst")]
    pub burst: ConfigDuration,
    /// Requests this client may have in flight at once, an open stream
    /// counting until it ends; past it, 429.
    #[serde(default)]
    pub max_concurrent_requests: Option<usize>,
    /// How its requests fare when a route sheds load: the lowest go first.
    #[serde(default)]
    pub priority: Priority,
}

/// How important a request is when a route must shed load.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Shed first.
    Low,
    /// Most traffic.
    #[default]
    Normal,
    /// Shed after normal traffic.
    High,
    /// Shed last: may fill the route's whole capacity.
    Critical,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];

    /// The snake_case name, as in the config and the header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    /// The priority named `name`.
    pub fn from_name(name: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// The HTTP server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Bearer token for `/admin/*`; without one the admin API is off.
    pub admin_token: Option<Secret>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// How long a client may take to send its request head and body.
    pub client_timeout: ConfigDuration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: ConfigDuration,
    /// Where to append the audit log (JSON lines); none keeps it in memory only.
    pub audit_log: Option<String>,
    /// Size at which the audit log file is rotated (to `<file>.1`, …).
    /// Read at start only.
    pub audit_log_max_bytes: u64,
    /// Rotated audit log files kept besides the current one (0: the file
    /// is cut back to nothing when full). Read at start only.
    pub audit_log_files: u32,
    /// Threads serving requests, each with its own listener on the port and
    /// its own upstream connections; none: one per CPU. Read at start only.
    pub threads: Option<u16>,
    /// Whether a request's `x-steadfast-priority` header sets its priority
    /// (never above its client's own `priority`).
    pub priority_header: bool,
    /// A second address serving the operations surface (`/api/*`,
    /// `/dashboard`, `/metrics`, `/ready`, `/admin/*`), which the main
    /// listener then leaves out. Read at start only.
    pub ops_listen: Option<String>,
    /// Most client connections open at once, over every serving thread;
    /// past it a new connection gets a 503 and is closed. Read at start only.
    pub max_connections: usize,
    /// Longest time a client may leave the gateway's answer unread (a
    /// stream's next event, a socket that takes no bytes) before the answer
    /// is given up and its upstream call and slots released.
    pub write_timeout: ConfigDuration,
    /// Most `GET /api/events` streams open at once; past it, 503.
    pub max_event_subscribers: usize,
    /// Most memory (estimated, in bytes) that translating requests to
    /// another format may take at once, over the whole gateway: a target that
    /// would pass it is skipped for now, one that a request alone would pass
    /// is refused for it. Read at start only.
    pub max_translating_bytes: u64,
    /// Bearer token for the operations surface (`/api/*`, `/dashboard`,
    /// `/metrics`, `/ready`); the dashboard asks for it once per browser session.
    pub ops_token: Option<Secret>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            admin_token: None,
            max_body_bytes: 10 * 1024 * 1024,
            client_timeout: ConfigDuration::secs(30),
            shutdown_grace: ConfigDuration::secs(30),
            audit_log: None,
            audit_log_max_bytes: 10 * 1024 * 1024,
            audit_log_files: 3,
            threads: None,
            priority_header: false,
            ops_listen: None,
            max_connections: 10_000,
            max_event_subscribers: 256,
            max_translating_bytes: 256 * 1024 * 1024,
            write_timeout: ConfigDuration::secs(30),
            ops_token: None,
        }
    }
}

/// The kind of provider: how requests are addressed and authenticated, and
/// which wire format it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI's API, and the many servers that copy it (vLLM, Ollama, LM Studio).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Azure OpenAI: OpenAI's format at a resource's deployment URLs (with
    /// `api_version`) or its `/openai/v1` API, with an `api-key` or a
    /// Microsoft Entra ID bearer token.
    Azure,
    /// Google's Gemini API (`generateContent`), with an API key.
    Gemini,
    /// Amazon Bedrock's Converse API, signed with AWS Signature Version 4.
    Bedrock,
    /// Google Cloud's Vertex AI: Gemini (`publisher: google`) or Anthropic
    /// (`publisher: anthropic`) models, with a service account's tokens.
    Vertex,
}

impl ProviderKind {
    /// Every kind, in declaration order.
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Openai,
        ProviderKind::Anthropic,
        ProviderKind::Azure,
        ProviderKind::Gemini,
        ProviderKind::Bedrock,
        ProviderKind::Vertex,
    ];

    /// The kind named `name` (as in the config), if there is one.
    pub fn from_name(name: &str) -> Option<ProviderKind> {
        ProviderKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The snake_case name, as in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Azure => "azure",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Vertex => "vertex",
        }
    }
}

/// One upstream provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The wire format.
    pub kind: ProviderKind,
    /// The API's base URL, e.g. `https://api.openai.com/v1`; for `bedrock`,
    /// by default `https://bedrock-runtime.{region}.amazonaws.com`.
    #[serde(default)]
    pub base_url: String,
    /// The API key, from the environment: `"${OPENAI_API_KEY}"`.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Extra headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `azure`: the `api-version` of deployment URLs
    /// (`{base_url}/openai/deployments/{model}/…?api-version=…`); without
    /// it, the v1 API (`{base_url}/openai/v1/…`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// `azure`: a Microsoft Entra ID access token, sent as a bearer token,
    /// instead of `api_key`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// `bedrock`: the AWS region, e.g. `us-east-1`; `vertex`: the location,
    /// e.g. `us-central1` or `global`.
    #[serde(default)]
    pub region: Option<String>,
    /// `vertex`: the Google Cloud project.
    #[serde(default)]
    pub project: Option<String>,
    /// `vertex`: whose models: `google` (Gemini, the default) or `anthropic`.
    #[serde(default)]
    pub publisher: Option<String>,
    /// `vertex`: the service account's JSON key file; without it,
    /// `GOOGLE_APPLICATION_CREDENTIALS` from the environment.
    #[serde(default)]
    pub credentials_file: Option<String>,
    /// `bedrock`: the AWS access key id; without it, `AWS_ACCESS_KEY_ID`
    /// (and `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) from the environment.
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    /// `bedrock`: the AWS secret access key.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// `bedrock`: the session token of temporary credentials.
    #[serde(default)]
    pub session_token: Option<Secret>,
}

/// One deployment: an upstream model on a provider.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The provider (a key of `providers`).
    pub provider: String,
    /// The name the upstream knows the model by.
    pub model: String,
    /// Longest time for one attempt (for streams: until the last chunk).
    #[serde(default = "defaults::timeout")]
    pub timeout: ConfigDuration,
    /// Longest wait for the first streamed chunk before failing over.
    #[serde(default = "defaults::first_token_timeout")]
    pub first_token_timeout: ConfigDuration,
    /// The circuit breaker of this model.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
    /// Active health probes; none means passive detection only.
    #[serde(default)]
    pub health_check: Option<HealthCheckConfig>,
    /// Most requests in flight to this model at once.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// Requests allowed to wait for a free slot when `max_concurrency` (or
    /// the adaptive limit) is reached.
    #[serde(default)]
    pub max_queue: usize,
    /// Learn this model's concurrency limit from its answers (AIMD), within
    /// `max_concurrency` when set; `{}` turns it on with the defaults.
    #[serde(default)]
    pub adaptive_concurrency: Option<AdaptiveConcurrencyConfig>,
    /// Requests and tokens per minute this model may be sent.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// The model's context window in tokens: after a context-length failure,
    /// targets whose window is not larger are skipped.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Reject (as a failure of this target) an answer whose `model` is not the
    /// configured one.
    #[serde(default)]
    pub verify_model: bool,
    /// Largest whole (non-streamed) answer taken from this model, in bytes;
    /// a larger one is a failure of the model.
    #[serde(default = "defaults::max_answer_bytes")]
    pub max_answer_bytes: u64,
    /// How this model carries on a stream another model broke off (routes
    /// with `stream_resume`); none: as its API does (prefill for Anthropic's
    /// Messages API and Claude on Bedrock, instruction otherwise).
    #[serde(default)]
    pub continuation: Option<Continuation>,
}

/// How a model is asked to carry on a broken stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Continuation {
    /// The text so far as the start of the model's own turn (a trailing
    /// assistant message), which the model continues: Anthropic's Messages
    /// API, Claude on Bedrock, llama.cpp's server.
    Prefill,
    /// The text so far as an assistant message, then a user message asking
    /// to carry on from it: any chat API takes it.
    Instruction,
    /// Never asked to continue a stream.
    Off,
}

/// How a model's concurrency limit is learned (`models.<name>.adaptive_concurrency`):
/// +1 per success until the first overload, then +1/limit per success; an
/// overload (429, 503, 529, a timeout, a call slower than `slow_call`)
/// multiplies the limit by `backoff`, once per round of calls.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveConcurrencyConfig {
    /// The limit to start from.
    pub initial: usize,
    /// The lowest limit.
    pub min: usize,
    /// The factor an overload multiplies the limit by (0.5 to 0.99).
    pub backoff: f64,
    /// A success slower than this counts as an overload (whole answers and
    /// whole streams alike); none: slowness counts only as timeouts.
    pub slow_call: Option<ConfigDuration>,
}

impl Default for AdaptiveConcurrencyConfig {
    fn default() -> AdaptiveConcurrencyConfig {
        AdaptiveConcurrencyConfig {
            initial: 8,
            min: 1,
            backoff: 0.9,
            slow_call: None,
        }
    }
}

/// Circuit-breaker settings of a model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Failure rate (0 to 1] over the window that opens the breaker.
    pub failure_rate: f64,
    /// Calls in the window before the rates are judged.
    pub min_calls: u32,
    /// The sliding time window the rates are computed over.
    pub window: ConfigDuration,
    /// How long the breaker stays open before letting probes through.
    pub open_for: ConfigDuration,
    /// Longest open time when it grows on repeated trips; none: 15 s, or
    /// `open_for` if that is longer.
    pub max_open_for: Option<ConfigDuration>,
    /// Growth of the open time on each trip without a recovery in between.
    pub open_for_multiplier: f64,
    /// Probe calls let through when half-open.
    pub half_open_calls: u32,
    /// Failures in a row that open the breaker at once (0 turns this off).
    pub consecutive_failures: u32,
    /// Calls slower than this count as slow.
    pub slow_call_duration: Option<ConfigDuration>,
    /// Slow-call rate (0 to 1] that opens the breaker.
    pub slow_call_rate: f64,
    /// When the open time is over, call the model with a one-token request
    /// (as many times as `half_open_calls`) and let the answers close or
    /// reopen the breaker, rather than wait for live traffic to try it.
    pub recovery_probe: bool,
}

impl BreakerConfig {
    /// The cap of the grown open time in force: `max_open_for`, else 15 s
    /// (or `open_for` if that is longer) — low, so a recovered model is back
    /// within about that long of its recovery.
    pub fn open_time_cap(&self) -> Duration {
        self.max_open_for
            .map_or(DEFAULT_MAX_OPEN_FOR.max(self.open_for.0), |cap| cap.0)
    }
}

/// The default cap of a breaker's grown open time.
const DEFAULT_MAX_OPEN_FOR: Duration = Duration::from_secs(15);

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            failure_rate: 0.5,
            min_calls: 10,
            window: ConfigDuration::secs(60),
            open_for: ConfigDuration::secs(5),
            max_open_for: None,
            open_for_multiplier: 2.0,
            half_open_calls: 2,
            consecutive_failures: 5,
            slow_call_duration: None,
            slow_call_rate: 1.0,
            recovery_probe: true,
        }
    }
}

/// Active health probes of a model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// Time between probes.
    pub interval: ConfigDuration,
    /// Longest wait for one probe.
    pub timeout: ConfigDuration,
    /// Failed probes in a row before the model is marked unhealthy.
    pub retries: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> HealthCheckConfig {
        HealthCheckConfig {
            interval: ConfigDuration::secs(30),
            timeout: ConfigDuration::secs(5),
            retries: 3,
        }
    }
}

/// Rate limits of a model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per minute.
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
    /// Tokens (prompt and completion) per minute.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// How much of each rate may be taken at once after a quiet spell, as
    /// the time the rate takes to earn it (default 5s: 10 requests of 120/min,
    /// at least one; a request larger than it passes alone when nothing was
    /// taken for as long).
    #[serde(default = "defaults::burst")]
    pub burst: ConfigDuration,
}

/// How a route picks among its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// In priority order: the next target only when the one before fails.
    #[default]
    Sequential,
    /// All (or the first `fan_out`) available targets at once; the first answer wins.
    Parallel,
    /// The first target; the next one too when no answer came within `hedge_after`.
    Hedged,
    /// Spread by weights that adapt to each target's success rate and latency.
    Weighted,
    /// `quorum` answers from different targets, returned as that many choices.
    Quorum,
    /// Across equivalent targets (keys, regions, replicas of one model): the
    /// less loaded of two (requests in flight × peak-EWMA latency, more for a
    /// key near the end of its rate limit), then the others by load.
    LeastLoaded,
}

impl Strategy {
    /// The snake_case name, as in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            Strategy::Sequential => "sequential",
            Strategy::Parallel => "parallel",
            Strategy::Hedged => "hedged",
            Strategy::Weighted => "weighted",
            Strategy::Quorum => "quorum",
            Strategy::LeastLoaded => "least_loaded",
        }
    }
}

/// A route: what clients name in the `model` field.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// How targets are chosen.
    #[serde(default)]
    pub strategy: Strategy,
    /// The models (keys of `models`) this route may use, in priority order.
    pub targets: Vec<String>,
    /// Retries of failed targets.
    #[serde(default)]
    pub retry: RetryConfig,
    /// The route's time budget: past it the client gets an answer or a 503.
    #[serde(default = "defaults::route_timeout")]
    pub timeout: ConfigDuration,
    /// Failure kinds that move on to the next target (default: every kind but
    /// `invalid_request`).
    #[serde(default)]
    pub fallback_on: Option<Vec<FailoverKind>>,
    /// `parallel` and `quorum`: how many available targets to call at once (default all).
    #[serde(default)]
    pub fan_out: Option<usize>,
    /// `hedged`: when to start the next target — a duration (`"300ms"`) or a
    /// percentile of recent latency (`"p95"`).
    #[serde(default)]
    pub hedge_after: Option<HedgeAfter>,
    /// `hedged`: extra requests allowed as a share of requests (0.1 = 10%).
    #[serde(default = "defaults::hedge_budget")]
    pub hedge_budget: f64,
    /// `weighted`: static base weights by model (default 1 each).
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// `weighted`: how long a recovered target takes to ramp back to its full weight.
    #[serde(default = "defaults::slow_start")]
    pub slow_start: ConfigDuration,
    /// `quorum`: answers needed, each from a different target.
    #[serde(default)]
    pub quorum: Option<usize>,
    /// When a stream breaks after text reached the client, continue it on the
    /// next target and splice the continuation into the same client stream.
    #[serde(default)]
    pub stream_resume: bool,
    /// Longest a streamed answer may last, from the request to its last
    /// event; past it the stream ends with an error event.
    #[serde(default = "defaults::stream_deadline")]
    pub stream_deadline: ConfigDuration,
    /// A cache of the route's answers; none: off.
    #[serde(default)]
    pub cache: Option<CacheConfig>,
    /// The answer given when no target can answer; none: an error.
    #[serde(default)]
    pub last_answer: Option<LastAnswerConfig>,
    /// Refusal of the lowest priorities first when the route's capacity
    /// shrinks; none: off.
    #[serde(default)]
    pub shedding: Option<SheddingConfig>,
}

/// How a route's cache is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    /// A kept answer (younger than `ttl`) answers without a call.
    Normal,
    /// Every request is sent on; a kept answer (younger than `ttl`) answers
    /// only when every target failed, marked stale.
    StaleIfError,
}

/// Whose kept answers a request may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheScope {
    /// Any client's: one client's answer answers another asking the same.
    Shared,
    /// Its own client's only (the client of its key).
    Client,
}

/// A route's answer cache: exact matches of the request (its messages,
/// tools and the settings that change the answer).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// How kept answers are used.
    pub mode: CacheMode,
    /// How long an answer is kept.
    #[serde(default = "defaults::cache_ttl")]
    pub ttl: ConfigDuration,
    /// The most memory the route's kept answers take, in bytes (the oldest
    /// used go first).
    #[serde(default = "defaults::cache_max_bytes")]
    pub max_bytes: u64,
    /// The largest answer kept, in bytes (also the bound of each value a
    /// fleet keeps in Redis).
    #[serde(default = "defaults::cache_max_entry_bytes")]
    pub max_entry_bytes: u64,
    /// Also keep answers to requests that sample (a `temperature` above 0,
    /// or none given, which providers take as 1).
    #[serde(default)]
    pub sampled: bool,
    /// Whose kept answers a request may get: `client` (its own client's)
    /// or `shared`. Default `client` when clients are configured, `shared`
    /// when the gateway is open to anyone.
    #[serde(default)]
    pub scope: Option<CacheScope>,
}

/// A route's static last answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LastAnswerConfig {
    /// The message, e.g. "We are busy right now: please try again in a minute."
    pub message: String,
}

/// A route's priority shedding.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SheddingConfig {
    /// Requests the route has in flight at most with every target up;
    /// default: the sum of its targets' `max_concurrency`.
    #[serde(default)]
    pub capacity: Option<usize>,
    /// Requests that may wait for a place when the route is full (default:
    /// its capacity). A full queue makes room for a higher priority by
    /// refusing the lowest priority's latest waiter.
    #[serde(default)]
    pub max_queue: Option<usize>,
    /// How long a request of each priority may wait for a place before it
    /// is refused (503 `load_shed`).
    #[serde(default)]
    pub max_wait: PriorityWaits,
    /// The least `Retry-After` given to a shed request (longer when the
    /// queue drains slowly).
    #[serde(default = "defaults::shed_retry_after")]
    pub retry_after: ConfigDuration,
    /// No longer used: a route's capacity is not divided into static
    /// shares any more (what one priority leaves unused stayed idle);
    /// requests wait by priority instead (`max_wait`). Accepted, with a
    /// warning.
    #[serde(default)]
    pub shares: Option<serde_json::Value>,
}

/// How long a request of each priority may wait for a place.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityWaits {
    /// `critical` requests.
    pub critical: ConfigDuration,
    /// `high` requests.
    pub high: ConfigDuration,
    /// `normal` requests.
    pub normal: ConfigDuration,
    /// `low` requests.
    pub low: ConfigDuration,
}

impl Default for PriorityWaits {
    fn default() -> PriorityWaits {
        PriorityWaits {
            critical: ConfigDuration::secs(10),
            high: ConfigDuration::secs(5),
            normal: ConfigDuration::secs(2),
            low: ConfigDuration::secs(1),
        }
    }
}

impl PriorityWaits {
    /// The wait of `priority`.
    pub fn of(&self, priority: Priority) -> Duration {
        match priority {
            Priority::Low => self.low.0,
            Priority::Normal => self.normal.0,
            Priority::High => self.high.0,
            Priority::Critical => self.critical.0,
        }
    }
}

/// Jitter added to retry backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JitterConfig {
    /// Exactly the backoff.
    None,
    /// Uniform between zero and the backoff.
    #[default]
    Full,
    /// Half the backoff plus a uniform share of the other half.
    Equal,
    /// Decorrelated jitter (AWS's): each wait depends on the last one.
    Decorrelated,
}

/// Retries of a route's failed targets. Attempts go down the target list
/// first; a failed target is tried again only after the others.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per target, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff: ConfigDuration,
    /// Longest wait between attempts.
    pub max_backoff: ConfigDuration,
    /// Jitter added to the waits.
    pub jitter: JitterConfig,
    /// Retries allowed as a share of first attempts (0.2 = 20% extra load).
    pub budget: f64,
    /// Retry a target before moving on when its failure says to try again
    /// soon; none: move on at once.
    pub same_target: Option<SameTargetConfig>,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            max_attempts: 2,
            initial_backoff: ConfigDuration::millis(200),
            max_backoff: ConfigDuration::secs(5),
            jitter: JitterConfig::Full,
            budget: 0.2,
            same_target: None,
        }
    }
}

/// Same-target retries: a target whose failure says "try again soon" — a
/// `Retry-After` of at most `max_wait`, or a first 5xx or reset without one —
/// is tried once more (after that wait, or the route's backoff) before the
/// next target, within the retry budget and the route's time budget.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SameTargetConfig {
    /// The longest `Retry-After` waited for on the same target; a longer
    /// one moves on at once.
    pub max_wait: ConfigDuration,
}

impl Default for SameTargetConfig {
    fn default() -> SameTargetConfig {
        SameTargetConfig {
            max_wait: ConfigDuration::secs(5),
        }
    }
}

/// Where shared state lives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "backend", rename_all = "snake_case")]
pub enum StateConfig {
    /// In this process only.
    #[default]
    Memory,
    /// Shared by every gateway of a fleet through Redis: breaker transitions,
    /// health-probe results, rate limits and the audit log.
    Redis {
        /// `redis://[user:password@]host:port[/db]`, `rediss://` for TLS,
        /// `redis+unix:///path`, or
        /// `redis+sentinel://[user:password@]host:port,host:port/primary[/db]`
        /// (`rediss+sentinel://` for TLS) to follow the primary Sentinel names,
        /// or `redis+cluster://[user:password@]host:port,host:port` for a Redis
        /// Cluster;
        /// write it as `"${REDIS_URL}"` when it holds a password.
        url: Secret,
        /// Prefix of every key and channel, so fleets can share one Redis.
        #[serde(default = "defaults::key_prefix")]
        key_prefix: String,
        /// Longest wait for one Redis command before the local state is used.
        #[serde(default = "defaults::redis_timeout")]
        timeout: ConfigDuration,
        /// Entries kept (about) in the audit stream.
        #[serde(default = "defaults::audit_max_len")]
        audit_max_len: u64,
    },
}

mod defaults {
    use super::ConfigDuration;

    pub(super) fn timeout() -> ConfigDuration {
        ConfigDuration::secs(60)
    }

    pub(super) fn first_token_timeout() -> ConfigDuration {
        ConfigDuration::secs(10)
    }

    pub(super) fn route_timeout() -> ConfigDuration {
        ConfigDuration::secs(120)
    }

    pub(super) fn cache_ttl() -> ConfigDuration {
        ConfigDuration::secs(300)
    }

    pub(super) fn cache_max_bytes() -> u64 {
        64 * 1024 * 1024
    }

    pub(super) fn cache_max_entry_bytes() -> u64 {
        256 * 1024
    }

    pub(super) fn shed_retry_after() -> ConfigDuration {
        ConfigDuration::secs(1)
    }

    pub(super) fn stream_deadline() -> ConfigDuration {
        ConfigDuration::secs(600)
    }

    pub(super) fn max_answer_bytes() -> u64 {
        8 * 1024 * 1024
    }

    pub(super) fn hedge_budget() -> f64 {
        0.1
    }

    pub(super) fn slow_start() -> ConfigDuration {
        ConfigDuration::secs(30)
    }

    pub(super) fn key_prefix() -> String {
        "steadfast".into()
    }

    pub(super) fn burst() -> ConfigDuration {
        ConfigDuration::secs(5)
    }

    pub(super) fn redis_timeout() -> ConfigDuration {
        ConfigDuration::millis(250)
    }

    pub(super) fn audit_max_len() -> u64 {
        10_000
    }
}
