//! The audit log's copy in a Redis stream (`XADD {prefix}:audit MAXLEN ~ N`),
//! so a fleet has one history. Entries are written in the background, in
//! order, and held (up to a bound) while Redis is away.

use std::sync::Arc;

use super::link::Link;
use crate::audit::AuditEntry;

/// Where audit entries are copied to.
#[derive(Debug, Clone)]
pub struct AuditStream {
    link: Arc<Link>,
    key: String,
    max_len: u64,
}

impl AuditStream {
    pub(super) fn new(link: &Arc<Link>, max_len: u64) -> AuditStream {
        AuditStream {
            key: link.key(&["audit"]),
            link: Arc::clone(link),
            max_len,
        }
    }

    /// The stream's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Queues `entry` for the stream.
    pub fn push(&self, entry: &AuditEntry) {
        let mut command = redis::cmd("XADD");
        command
            .arg(&self.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.max_len)
            .arg("*")
            .arg("time")
            .arg(&entry.time)
            .arg("action")
            .arg(&entry.action)
            .arg("target")
            .arg(&entry.target)
            .arg("result")
            .arg(&entry.result)
            .arg("detail")
            .arg(&entry.detail)
            .arg("instance")
            .arg(self.link.instance());
        self.link.later("audit", command);
    }
}
