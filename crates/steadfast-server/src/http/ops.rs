//! The protection of the operations surface (`/api/*`, `/dashboard`,
//! `/metrics`, `/ready`): what it shows (every target's provider, model,
//! breaker and last error) is for operators, not for whoever can reach the
//! port. Like Envoy's admin interface it can have a listener of its own
//! (`server.ops_listen`) and/or a bearer token (`server.ops_token`), which
//! the dashboard asks for once and keeps for the browser session in a
//! cookie. On a listener that is not loopback with neither set, the surface
//! is closed (403): that listener serves the model API and `/health` only.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use super::auth::{bearer, constant_time_eq};
use super::error::ApiError;
use crate::state::AppState;

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
    Operations,
}

impl Listener {
    /// Whether the router carries the model API.
    pub(super) fn serves_models(self) -> bool {
        !matches!(self, Listener::Operations)
    }

    /// Whether the router carries the operations surface and the admin API.
    pub(super) fn serves_operations(self) -> bool {
        !matches!(self, Listener::ModelApi)
    }
}

/// The cookie that carries a dashboard session.
const COOKIE: &str = "steadfast_ops";

/// The session cookie's value for `token`: a digest, so the cookie never
/// holds the token itself and a new token ends every session.
fn session_value(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"steadfast ops session\0")
        .chain_update(token.as_bytes())
        .finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `headers` carry the token, as a bearer token or a session cookie.
fn carries(headers: &HeaderMap, token: &str) -> bool {
    if constant_time_eq(bearer(headers).as_bytes(), token.as_bytes()) {
        return true;
    }
    let expected = session_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| {
            name == COOKIE && constant_time_eq(value.as_bytes(), expected.as_bytes())
        })
}

/// Lets a request to the operations surface through, or answers it: 401
/// (the dashboard: its sign-in page) without the token when one is set,
/// 403 on a non-loopback listener left unprotected.
pub(super) async fn guard(
    State((app, listener)): State<(Arc<AppState>, Listener)>,
    request: Request,
    next: Next,
) -> Response {
    let runtime = app.runtime();
    match &runtime.config.server.ops_token {
        Some(token) if carries(request.headers(), token.expose()) => next.run(request).await,
        Some(_) => {
            app.refusals.note("ops", "read");
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
        None if matches!(listener, Listener::Combined { loopback: false }) => closed(),
        None => next.run(request).await,
    }
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

/// `POST /dashboard/login` (a form with `token`): starts a dashboard session
/// for the browser (a cookie for this gateway only, gone when the browser
/// session ends) and goes back to the dashboard.
pub(super) async fn login(
    State((app, listener)): State<(Arc<AppState>, Listener)>,
    body: axum::body::Bytes,
) -> Response {
    let runtime = app.runtime();
    let Some(token) = &runtime.config.server.ops_token else {
        return match listener {
            Listener::Combined { loopback: false } => closed(),
            _ => Redirect::to("/dashboard").into_response(),
        };
    };
    let given = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !constant_time_eq(given.trim().as_bytes(), token.expose().as_bytes()) {
        app.refusals.note("ops", "login");
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            "That is not the operations token.",
        );
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        session_value(token.expose())
    );
    let mut response = Redirect::to("/dashboard").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_holds_a_digest_of_the_token_not_the_token() {
        let token = "ops-token-0123456789abcdef";
        let value = session_value(token);
        assert_eq!(value.len(), 64);
        assert!(!value.contains(token));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE}={value}")).unwrap(),
        );
        assert!(carries(&headers, token));
        assert!(!carries(&headers, "another-token-0123456789"));
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        assert!(carries(&bearer, token));
        let mut plain = HeaderMap::new();
        plain.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={token}")).unwrap(),
        );
        assert!(!carries(&plain, token), "the token itself is no session");
    }
}
