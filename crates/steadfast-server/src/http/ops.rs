//! The protection of the operations surface (`/api/*`, `/dashboard`,
//! `/metrics`, `/ready`): what it shows (every target's provider, model,
//! breaker and last error) is for operators, not for whoever can reach the
//! port. Like Envoy's admin interface it can have a listener of its own
//! (`server.ops_listen`) and/or a bearer token (`server.ops_token`), which
//! the dashboard asks for once and keeps for the browser session in a
//! cookie ([`session`]). On a listener that is not loopback with neither
//! set, the surface and the admin API are closed (403): that listener serves
//! the model API and `/health` only. Open on a loopback listener without a
//! token, the surface answers requests for `localhost` only (no rebinding).

use std::sync::Arc;

use super::auth::{bearer, constant_time_eq};
use super::error::ApiError;
use super::session;
use crate::refusals::Surface;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Which listener a router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The only listener: the model API and the operations surface, the
    /// latter open on a loopback address and closed on any other unless
    /// `server.ops_token` is set.
    Combined {
        /// Whether it listens on a loopback address.
        loopback: bool,
    },
    /// The main listener when the operations surface has its own: the model
    /// API and `/health`.
    ModelApi,
    /// `server.ops_listen`: the operations surface, the admin API and `/health`.
    Operations {
        /// Whether it listens on a loopback address.
        loopback: bool,
    },
}

impl Listener {
    /// Whether the router carries the model API.
    pub(super) fn serves_models(self) -> bool {
        !matches!(self, Listener::Operations { .. })
    }

    /// Whether the router carries the operations surface and the admin API.
    pub(super) fn serves_operations(self) -> bool {
        !matches!(self, Listener::ModelApi)
    }
}

/// Whether `headers` carry the token, as a bearer token or a dashboard session.
fn carries(headers: &HeaderMap, token: &str) -> bool {
    constant_time_eq(bearer(headers).as_bytes(), token.as_bytes())
        || session::carried(headers, token)
}

/// Whether the request names this machine as its host (or names none): a
/// surface open because its listener is loopback answers no other name, so
/// a web page cannot reach it by rebinding a name of its own to 127.0.0.1.
fn for_this_machine(request: &Request) -> bool {
    let host = request.uri().host().map(str::to_owned).or_else(|| {
        let value = request.headers().get(header::HOST)?.to_str().ok()?;
        Some(
            value
                .rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(value, |(host, _)| host)
                .to_owned(),
        )
    });
    let Some(host) = host else {
        return true;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What the operations surface does with a request.
enum Access {
    Allowed,
    NeedsToken,
    Closed,
    ForeignHost,
}

/// Whether `listener` is closed to the operations surface and the admin
/// API: not loopback, and no `server.ops_token` to guard them.
fn unprotected_public(app: &AppState, listener: Listener) -> bool {
    app.runtime().config.server.ops_token.is_none()
        && matches!(
            listener,
            Listener::Combined { loopback: false } | Listener::ModelApi
        )
}

fn access(app: &AppState, listener: Listener, request: &Request) -> Access {
    if unprotected_public(app, listener) {
        return Access::Closed;
    }
    if let Some(token) = &app.runtime().config.server.ops_token {
        return if carries(request.headers(), token.expose()) {
            Access::Allowed
        } else {
            Access::NeedsToken
        };
    }
    match listener {
        Listener::Combined { loopback: true } | Listener::Operations { loopback: true }
            if !for_this_machine(request) =>
        {
            Access::ForeignHost
        }
        _ => Access::Allowed,
    }
}

/// Lets a request to the operations surface through, or answers it: 401
/// (the dashboard: its sign-in page) without the token when one is set,
/// 403 on a non-loopback listener left unprotected.
pub(super) async fn guard(
    State((app, listener)): State<(Arc<AppState>, Listener)>,
    request: Request,
    next: Next,
) -> Response {
    match access(&app, listener, &request) {
        Access::Allowed => next.run(request).await,
        Access::Closed => closed(),
        Access::ForeignHost => ApiError::with_status(
            StatusCode::FORBIDDEN,
            "permission_error",
            "ops_surface_local",
            "Without server.ops_token the operations surface of a loopback listener answers \
             requests for localhost only.",
        )
        .into_response(),
        Access::NeedsToken => {
            app.refusals.note(Surface::Ops, "read");
            if request.uri().path() == "/dashboard" {
                sign_in_page(StatusCode::UNAUTHORIZED, "")
            } else {
                let mut response = ApiError::unauthorized(
                    "The operations surface needs the bearer token of server.ops_token.",
                )
                .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"steadfast-ops\""),
                );
                response
            }
        }
    }
}

/// Lets a request to the admin API through to its own token check, except
/// on a non-loopback listener whose operations surface is closed: that
/// listener serves the model API and `/health` only.
pub(super) async fn admin_guard(
    State((app, listener)): State<(Arc<AppState>, Listener)>,
    request: Request,
    next: Next,
) -> Response {
    if unprotected_public(&app, listener) {
        return closed();
    }
    next.run(request).await
}

/// The answer of an operations path on a non-loopback listener without protection.
fn closed() -> Response {
    ApiError::with_status(
        StatusCode::FORBIDDEN,
        "permission_error",
        "ops_surface_closed",
        "This listener is not a loopback address, so it serves the model API and /health only: \
         set server.ops_token or server.ops_listen to reach the operations surface.",
    )
    .into_response()
}

/// Longest sign-in form read.
const MAX_FORM: u64 = 4096;

/// `POST /dashboard/login` (a form with `token`): starts a dashboard session
/// for the browser (see [`session`]) and goes back to the dashboard. The
/// form is read within `server.client_timeout` and 4 KiB.
pub(super) async fn login(
    State((app, listener)): State<(Arc<AppState>, Listener)>,
    request: Request,
) -> Response {
    let runtime = app.runtime();
    let server = &runtime.config.server;
    let Some(token) = &server.ops_token else {
        return match access(&app, listener, &request) {
            Access::Allowed => Redirect::to("/dashboard").into_response(),
            _ => closed(),
        };
    };
    let (parts, body) = request.into_parts();
    let form =
        match super::body::read(&parts.headers, body, MAX_FORM, server.client_timeout.0).await {
            Ok(form) => form,
            Err(error) => return error.into_response(),
        };
    let given = form_urlencoded::parse(&form)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !constant_time_eq(given.trim().as_bytes(), token.expose().as_bytes()) {
        app.refusals.note(Surface::Ops, "login");
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            "That is not the operations token.",
        );
    }
    let mut response = Redirect::to("/dashboard").into_response();
    if let Ok(value) = HeaderValue::from_str(&session::start(token.expose())) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The sign-in page, saying `problem` if there is one.
fn sign_in_page(status: StatusCode, problem: &str) -> Response {
    const PAGE: &str = include_str!("../dashboard/assets/sign-in.html");
    let problem = if problem.is_empty() {
        String::new()
    } else {
        format!("<p class=\"problem\" role=\"alert\">{problem}</p>")
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; \
                 base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE.replacen("<!--PROBLEM-->", &problem, 1),
    )
        .into_response()
}
