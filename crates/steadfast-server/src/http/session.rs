//! Dashboard sessions: a cookie that stands for the operations token for a
//! while, so a browser is asked for the token once. It holds the time it
//! was issued and a digest of that time and the token — never the token —
//! and lasts [`LIFETIME`]; a new token ends every session.

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use super::auth::constant_time_eq;
use steadfast_wire::clock::unix_millis;

/// The cookie's name.
pub(super) const COOKIE: &str = "steadfast_ops";
/// How long a session lasts, in seconds.
pub(super) const LIFETIME: u64 = 12 * 3600;

/// The cookie's value for `token`, issued at `issued` (Unix seconds).
fn value(token: &str, issued: u64) -> String {
    let digest = Sha256::new()
        .chain_update(b"steadfast ops session\0")
        .chain_update(token.as_bytes())
        .chain_update(b"\0")
        .chain_update(issued.to_be_bytes())
        .finalize();
    format!("{issued:x}.{}", hex::encode(digest))
}

fn now() -> u64 {
    unix_millis() / 1000
}

/// A `Set-Cookie` value starting a session for `token` now.
pub(super) fn start(token: &str) -> String {
    format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME}",
        value(token, now())
    )
}

/// Whether `headers` carry a live session for `token`.
pub(super) fn carried(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .any(|(_, given)| live(given, token, now()))
}

/// Whether cookie value `given` is a session for `token` still alive at `now`.
fn live(given: &str, token: &str, now: u64) -> bool {
    let Some(issued) = given
        .split_once('.')
        .and_then(|(issued, _)| u64::from_str_radix(issued, 16).ok())
    else {
        return false;
    };
    issued <= now
        && now - issued < LIFETIME
        && constant_time_eq(given.as_bytes(), value(token, issued).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_holds_no_token_and_ends_with_its_lifetime_or_a_new_token() {
        let token = "ops-token-0123456789abcdef";
        let issued = 1_800_000_000;
        let cookie = value(token, issued);
        assert!(!cookie.contains(token));
        assert!(live(&cookie, token, issued + 60));
        assert!(!live(&cookie, token, issued + LIFETIME), "expired");
        assert!(!live(&cookie, "another-token-0123456789", issued + 60));
        assert!(!live(
            &format!("{:x}.{}", issued + 1, &cookie[9..]),
            token,
            issued + 60
        ));
        assert!(
            !live(token, token, issued),
            "the token itself is no session"
        );
        let started = start(token);
        let mut headers = HeaderMap::new();
        let pair = started.split(';').next().unwrap();
        headers.insert(header::COOKIE, format!("other=1; {pair}").parse().unwrap());
        assert!(carried(&headers, token));
    }
}
