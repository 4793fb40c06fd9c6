//! Calls refused for want of a token, noted without letting the caller
//! write what it likes into the logs or the audit log.

use std::sync::Mutex;

use tokio::time::{Duration, Instant};

use crate::telemetry::AUTH_REFUSALS;

/// How often at most a refusal is logged; the others are counted and the
/// count is logged with the next line.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// The protected surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/admin/*`.
    Admin,
    /// The operations surface: `/api/*`, `/dashboard`, `/metrics`, `/ready`.
    Ops,
}

impl Surface {
    fn as_str(self) -> &'static str {
        match self {
            Surface::Admin => "admin",
            Surface::Ops => "ops",
        }
    }
}

/// Refusals of callers without the right token, per surface (a dashboard
/// opened before signing in does not crowd out the admin API's lines):
/// counted in `steadfast_auth_refusals_total`, and logged at most once a
/// second with the number left unlogged since. The caller's own words (a
/// path, a model name) never reach the log or the audit log: an
/// unauthenticated caller could otherwise fill them with text of its choosing.
#[derive(Debug, Default)]
pub struct Refusals {
    admin: RefusalLog,
    ops: RefusalLog,
}

/// One surface's log of refusals: when a line was last logged, and the
/// refusals since that were not.
#[derive(Debug, Default)]
struct RefusalLog(Mutex<(Option<Instant>, u64)>);

impl Refusals {
    /// Notes a refused call to `surface` for `action` (one of the gateway's
    /// own names, never the caller's text).
    pub fn note(&self, surface: Surface, action: &'static str) {
        let log = match surface {
            Surface::Admin => &self.admin,
            Surface::Ops => &self.ops,
        };
        log.note(surface.as_str(), action);
    }
}

impl RefusalLog {
    fn note(&self, surface: &'static str, action: &'static str) {
        metrics::counter!(AUTH_REFUSALS, "surface" => surface).increment(1);
        let now = Instant::now();
        let Ok(mut log) = self.0.lock() else {
            return;
        };
        let (last, unlogged) = &mut *log;
        if last.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
            *unlogged += 1;
            return;
        }
        *last = Some(now);
        let also = std::mem::take(unlogged);
        tracing::warn!(
            surface,
            action,
            also_refused_since_last_line = also,
            "refused a call without a valid token"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refusals_are_logged_at_most_once_a_second_per_surface() {
        let refusals = Refusals::default();
        for _ in 0..5 {
            refusals.note(Surface::Admin, "trip");
        }
        refusals.note(Surface::Ops, "read");
        assert_eq!(refusals.admin.0.lock().unwrap().1, 4);
        assert_eq!(refusals.ops.0.lock().unwrap().1, 0, "a surface of its own");
        tokio::time::advance(LOG_EVERY).await;
        refusals.note(Surface::Admin, "trip");
        assert_eq!(
            refusals.admin.0.lock().unwrap().1,
            0,
            "logged with the count"
        );
    }
}
