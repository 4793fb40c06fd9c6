//! The Steadfast gateway's server: the HTTP face of the public contract over
//! the proxy core, and what an operator sees and does around it.
//!
//! | module | what |
//! |---|---|
//! | [`gateway`] | a running gateway: startup, background tasks, graceful shutdown |
//! | [`http`] | the router and every handler, errors in one shape |
//! | [`state`] | what every handler shares, and config reloads |
//! | [`status`] | the status snapshot of every route and target |
//! | [`watch`] | reload triggers: the config file changing, `SIGHUP` |
//! | [`audit`] | the audit log of admin actions and reloads |
//! | [`refusals`] | calls refused for want of a token, logged at a bounded rate |
//! | [`alerts`] | alert rules, their engine and the channels they notify |
//! | [`analytics`] | a bounded day of history and the reports built from it |
//! | [`dashboard`] | the dashboard's history and the gateway's notices |
//! | [`sampler`] | the task feeding the history and the analytics each second |
//! | [`telemetry`] | the Prometheus recorder behind `GET /metrics` |
//!
//! Requests are served by [`steadfast_proxy::Proxy`]; state shared with a
//! fleet lives in [`steadfast_fleet`].

pub mod alerts;
pub mod analytics;
pub mod audit;
pub mod dashboard;
pub mod gateway;
pub mod http;
pub mod refusals;
pub mod sampler;
pub mod state;
pub mod status;
pub mod telemetry;
pub mod watch;

pub use gateway::Gateway;
pub use state::AppState;
