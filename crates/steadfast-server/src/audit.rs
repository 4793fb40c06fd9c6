//! The audit log: every admin action and config reload, as JSON lines
//! (time, action, target, result, detail) appended to a file if configured and
//! kept in memory (the most recent entries) for `GET /admin/audit`. Entries
//! never hold secrets: callers pass only names and sanitised reasons.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use steadfast_fleet::AuditStream;
use steadfast_wire::clock::rfc3339_now;

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
            time: rfc3339_now(),
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
            stream.push(&[
                ("time", &entry.time),
                ("action", &entry.action),
                ("target", &entry.target),
                ("result", &entry.result),
                ("detail", &entry.detail),
            ]);
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

#[cfg(test)]
mod tests {
    use super::*;

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
