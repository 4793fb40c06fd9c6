//! The audit log's copy in a Redis stream (`XADD {prefix}:audit MAXLEN ~ N`),
//! so a fleet has one history. Entries are written in the background, in
//! order, and held (up to a bound) while Redis is away.

use std::sync::Arc;

use super::link::Link;

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

    /// Queues an entry, given as its (field, value) pairs, for the stream;
    /// the field `instance` (this gateway's id in the fleet) is added.
    pub fn push(&self, fields: &[(&str, &str)]) {
        let mut command = redis::cmd("XADD");
        command
            .arg(&self.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.max_len)
            .arg("*");
        for (field, value) in fields {
            command.arg(*field).arg(*value);
        }
        command.arg("instance").arg(self.link.instance());
        self.link.later("audit", command);
    }
}
