//! Why a config cannot become a runtime: the key at fault and why. The
//! config's own checks (`steadfast-config`) catch these first; a config
//! built in code may still meet them.

use std::fmt;

/// A key of the config that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    /// The key path, as `providers.openai.headers`.
    pub path: String,
    /// Why it cannot be used.
    pub reason: String,
}

impl BuildError {
    /// `path` cannot be used, because `reason`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> BuildError {
        BuildError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for BuildError {}
