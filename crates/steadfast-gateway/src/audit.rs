//! The audit log: every admin action and config reload, as JSON lines
//! (time, action, target, result, detail) appended to a file if configured and
//! kept in memory (the most recent entries) for `GET /admin/audit`. Entries
//! never hold secrets: callers pass only names and sanitised reasons.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

use crate::shared::AuditStream;

/// Entries kept in memory.
const KEPT: usize = 1000;

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When, in RFC 3339 (UTC).
    pub time: String,
    /// What was done: `reload`, `trip`, `reset`, …
    pub action: String,
    /// What it was done to (a model name, a file).
    pub target: String,
    /// `ok`, `refused` or `error`.
    pub result: String,
    /// Why, or what changed.
    pub detail: String,
}

/// The audit log.
#[derive(Debug, Default)]
pub struct Audit {
    entries: Mutex<VecDeque<AuditEntry>>,
    file: Option<PathBuf>,
    stream: Option<AuditStream>,
}

impl Audit {
    /// An audit log that also appends to `file`, if given.
    pub fn new(file: Option<PathBuf>) -> Audit {
        Audit {
            entries: Mutex::new(VecDeque::new()),
            file,
            stream: None,
        }
    }

    /// Also copies every entry to the fleet's audit stream.
    pub fn with_stream(mut self, stream: Option<AuditStream>) -> Audit {
        self.stream = stream;
        self
    }

    /// Records an action.
    pub fn record(&self, action: &str, target: &str, result: &str, detail: &str) {
        let entry = AuditEntry {
            time: rfc3339(SystemTime::now()),
            action: action.to_owned(),
            target: target.to_owned(),
            result: result.to_owned(),
            detail: detail.to_owned(),
        };
        tracing::info!(action, target, result, detail, "audit");
        if let Some(path) = &self.file {
            let line = serde_json::to_string(&entry).unwrap_or_default();
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| writeln!(file, "{line}"));
            if let Err(error) = written {
                tracing::error!(path = %path.display(), %error, "cannot append to the audit log");
            }
        }
        if let Some(stream) = &self.stream {
            stream.push(&entry);
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() == KEPT {
                entries.pop_front();
            }
            entries.push_back(entry);
        }
    }

    /// The most recent entries, oldest first.
    pub fn entries(&self) -> Vec<AuditEntry> {
        self.entries
            .lock()
            .map(|entries| entries.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Formats a time as RFC 3339 in UTC with millisecond precision.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_rfc3339() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(time), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn keeps_entries_and_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::new(Some(path.clone()));
        audit.record("trip", "gpt", "ok", "manual");
        audit.record(
            "reload",
            "config.yaml",
            "refused",
            "routes.chat.targets[0]: unknown model",
        );
        let entries = audit.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].result, "refused");
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "trip");
        assert_eq!(lines[0]["target"], "gpt");
    }
}
