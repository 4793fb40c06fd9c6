//! The audit log: every admin action and config reload, as JSON lines
//! (time, action, target, result, detail) kept in memory (the most recent
//! entries) for `GET /admin/audit`, copied to the fleet's stream, and
//! appended to a file if configured. Entries never hold secrets: callers
//! pass only names and sanitised reasons.
//!
//! The file is written by a thread of its own (`AuditFile`), so recording
//! an entry never does file I/O on a serving thread; it is rotated when it
//! reaches its size bound (`<file>.1`, `<file>.2`, … the oldest dropped).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use serde::Serialize;
use steadfast_fleet::AuditStream;
use steadfast_wire::clock::rfc3339_now;
use tokio::sync::oneshot;

/// Entries kept in memory.
const KEPT: usize = 1000;
/// Longest wait for the file's writer to catch up.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Lines that may wait for the writer; past it, entries are left out of the
/// file (counted and logged) rather than the caller kept waiting.
const BACKLOG: usize = 4096;

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
    file: Option<AuditFile>,
    stream: Option<AuditStream>,
}

impl Audit {
    /// An audit log that also appends to `file`, if given, rotating it at
    /// `max_bytes` and keeping `keep` rotated files.
    pub fn new(file: Option<PathBuf>, max_bytes: u64, keep: u32) -> Audit {
        Audit {
            entries: Mutex::new(VecDeque::new()),
            file: file.map(|path| AuditFile::open(path, max_bytes, keep)),
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
        if let Some(file) = &self.file {
            file.append(serde_json::to_string(&entry).unwrap_or_default());
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

    /// Resolves once every entry recorded so far is in the file.
    pub async fn flush(&self) {
        if let Some(file) = &self.file {
            file.flush().await;
        }
    }
}

/// What the writer thread is asked to do.
enum Job {
    /// Append a line.
    Line(String),
    /// Say when every line before this one is written.
    Flush(oneshot::Sender<()>),
}

/// The audit log's file, written by a thread of its own.
#[derive(Debug)]
struct AuditFile {
    jobs: SyncSender<Job>,
    /// Lines left out because the writer fell behind.
    dropped: AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Line(_) => "Line",
            Job::Flush(_) => "Flush",
        })
    }
}

impl AuditFile {
    /// Starts the writer of `path`. If the thread cannot be started the
    /// entries stay in memory and in the fleet's stream, and this is logged.
    fn open(path: PathBuf, max_bytes: u64, keep: u32) -> AuditFile {
        let (jobs, queue) = mpsc::sync_channel(BACKLOG);
        let writer = Writer {
            path,
            max_bytes,
            keep,
            file: None,
            size: 0,
            rotation_failed: false,
        };
        let started = std::thread::Builder::new()
            .name("steadfast-audit".into())
            .spawn(move || writer.run(queue));
        if let Err(error) = started {
            tracing::error!(%error, "cannot start the audit log's writer: the file will not be written");
        }
        AuditFile {
            jobs,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `line` without waiting.
    fn append(&self, line: String) {
        match self.jobs.try_send(Job::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(
                    dropped,
                    "the audit log's writer is behind: an entry was left out of the file"
                );
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    async fn flush(&self) {
        let (done, written) = oneshot::channel();
        // A full queue drains on its own; waiting for room must not hold
        // this thread, so the request goes through a blocking task.
        let jobs = self.jobs.clone();
        // A writer stuck on its disk must not hold a shutdown up for ever.
        let _ = tokio::time::timeout(FLUSH_WAIT, async move {
            let queued = tokio::task::spawn_blocking(move || jobs.send(Job::Flush(done))).await;
            if matches!(queued, Ok(Ok(()))) {
                let _ = written.await;
            }
        })
        .await;
    }
}

/// The writer thread's state.
struct Writer {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: Option<File>,
    size: u64,
    /// The last rotation failed (and was logged).
    rotation_failed: bool,
}

impl Writer {
    /// Writes lines until every sender is gone.
    fn run(mut self, queue: Receiver<Job>) {
        for job in queue {
            match job {
                Job::Line(line) => {
                    // A failed write leaves the file closed: the next opens it again.
                    if let Err(error) = self.write(&line) {
                        tracing::error!(path = %self.path.display(), %error, "cannot append to the audit log");
                    }
                }
                Job::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Appends `line`, rotating the file first if it would pass its bound.
    fn write(&mut self, line: &str) -> std::io::Result<()> {
        let length = line.len() as u64 + 1;
        let mut file = match self.file.take() {
            Some(file) => file,
            None => self.open()?,
        };
        if self.size > 0 && self.size + length > self.max_bytes {
            drop(file);
            match rotate(&self.path, self.keep) {
                Ok(()) => self.rotation_failed = false,
                // Better past the bound than an entry lost: the file grows
                // until a rotation succeeds, and this is said once.
                Err(error) => {
                    if !std::mem::replace(&mut self.rotation_failed, true) {
                        tracing::error!(path = %self.path.display(), %error, "cannot rotate the audit log: it grows past its bound");
                    }
                }
            }
            file = self.open()?;
        }
        writeln!(file, "{line}")?;
        self.size += length;
        self.file = Some(file);
        Ok(())
    }

    /// Opens the file for appending and notes its size.
    fn open(&mut self) -> std::io::Result<File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        Ok(file)
    }
}

/// Moves `path` to `path.1` (and `path.1` to `path.2`, …), dropping the
/// oldest beyond `keep`; with `keep` 0 the file is removed.
fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let numbered = |n: u32| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(numbered(keep));
    for n in (1..keep).rev() {
        let from = numbered(n);
        if from.exists() {
            std::fs::rename(&from, numbered(n + 1))?;
        }
    }
    std::fs::rename(path, numbered(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_entries_and_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::new(Some(path.clone()), 1 << 20, 3);
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
        audit.flush().await;
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "trip");
        assert_eq!(lines[0]["target"], "gpt");
    }

    #[tokio::test]
    async fn the_file_is_rotated_at_its_bound_and_the_oldest_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let bound = 4096;
        let audit = Audit::new(Some(path.clone()), bound, 2);
        for i in 0..200 {
            audit.record("trip", &format!("model-{i}"), "ok", &"x".repeat(100));
        }
        audit.flush().await;
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len());
        let rotated = |n: u32| dir.path().join(format!("audit.jsonl.{n}"));
        assert!(size(&path).unwrap() <= bound);
        assert!(size(&rotated(1)).unwrap() <= bound);
        assert!(size(&rotated(2)).unwrap() <= bound);
        assert!(!rotated(3).exists(), "more files kept than configured");
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.lines().last().unwrap().contains("model-199"));
        let whole: u64 = [path.clone(), rotated(1), rotated(2)]
            .iter()
            .map(|p| size(p).unwrap())
            .sum();
        assert!(whole <= 3 * bound, "{whole}");
    }
}
