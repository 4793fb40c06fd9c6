//! Registries: get-or-create shared per-name state (breakers, limiters, health
//! trackers), with defaults and per-name overrides for breakers.
//!
//! Lookups take a read lock on a map; they belong at set-up or per-route
//! resolution, not on every call (keep the [`Breaker`] handle instead).
//!
//! ```
//! use std::time::Duration;
//! use steadfast::breaker::BreakerConfig;
//! use steadfast::registry::BreakerRegistry;
//!
//! let registry = BreakerRegistry::new(BreakerConfig::default()).with_override(
//!     "claude",
//!     BreakerConfig { open_for: Duration::from_secs(60), ..BreakerConfig::default() },
//! );
//! let claude = registry.breaker("claude");
//! assert_eq!(claude.config().open_for, Duration::from_secs(60));
//! assert_eq!(registry.breaker("gpt").config().open_for, Duration::from_secs(30));
//! // The same name gives the same breaker.
//! claude.trip();
//! assert_eq!(registry.breaker("claude").state(), claude.state());
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use crate::breaker::{Breaker, BreakerConfig};
use crate::events::Events;

/// A map from names to shared values (cheap-to-clone handles such as
/// [`Breaker`]), created on first use. Safe to share across tasks.
pub struct Registry<T> {
    entries: RwLock<HashMap<Arc<str>, T>>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<T: Clone> Registry<T> {
    /// An empty registry.
    pub fn new() -> Registry<T> {
        Registry::default()
    }

    /// The value named `name`, if any.
    pub fn get(&self, name: &str) -> Option<T> {
        self.read().get(name).cloned()
    }

    /// The value named `name`, made by `make` if there is none yet. `make`
    /// runs at most once per name, under the write lock.
    pub fn get_or_insert_with(&self, name: &str, make: impl FnOnce(&Arc<str>) -> T) -> T {
        if let Some(value) = self.get(name) {
            return value;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = entries.get(name) {
            return value.clone();
        }
        let name: Arc<str> = name.into();
        let value = make(&name);
        entries.insert(name, value.clone());
        value
    }

    /// Puts `value` under `name`, returning the value it replaced.
    pub fn insert(&self, name: impl Into<Arc<str>>, value: T) -> Option<T> {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.into(), value)
    }

    /// Takes the value named `name` out; handles already given out keep working.
    pub fn remove(&self, name: &str) -> Option<T> {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
    }

    /// The names present, sorted.
    pub fn names(&self) -> Vec<Arc<str>> {
        let mut names: Vec<_> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// A copy of every entry, sorted by name.
    pub fn snapshot(&self) -> Vec<(Arc<str>, T)> {
        let mut entries: Vec<_> = self
            .read()
            .iter()
            .map(|(name, value)| (Arc::clone(name), value.clone()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, T>> {
        // A panic while holding the lock cannot leave the map half-updated
        // (every write is one `insert` or `remove`), so poisoning is ignored.
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> fmt::Debug for Registry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_set().entries(entries.keys()).finish()
    }
}

/// Circuit breakers by name: a default configuration, per-name overrides, and
/// one [`Events`] bus shared by every breaker it makes.
#[derive(Debug, Default)]
pub struct BreakerRegistry {
    defaults: BreakerConfig,
    overrides: HashMap<Arc<str>, BreakerConfig>,
    events: Events,
    breakers: Registry<Breaker>,
}

impl BreakerRegistry {
    /// A registry making breakers with `defaults`, publishing no events.
    pub fn new(defaults: BreakerConfig) -> BreakerRegistry {
        BreakerRegistry {
            defaults,
            ..BreakerRegistry::default()
        }
    }

    /// Gives every breaker made from now on the bus `events`.
    #[must_use]
    pub fn with_events(mut self, events: Events) -> BreakerRegistry {
        self.events = events;
        self
    }

    /// Makes the breaker named `name` with `config` instead of the defaults.
    #[must_use]
    pub fn with_override(mut self, name: impl Into<Arc<str>>, config: BreakerConfig) -> Self {
        self.overrides.insert(name.into(), config);
        self
    }

    /// The breaker named `name`, made on first use.
    pub fn breaker(&self, name: &str) -> Breaker {
        self.breakers.get_or_insert_with(name, |name| {
            Breaker::with_events(
                Arc::clone(name),
                self.config_for(name).clone(),
                self.events.clone(),
            )
        })
    }

    /// The breaker named `name`, if it was made.
    pub fn get(&self, name: &str) -> Option<Breaker> {
        self.breakers.get(name)
    }

    /// Forgets the breaker named `name`; the next [`breaker`](Self::breaker)
    /// call makes a fresh one.
    pub fn remove(&self, name: &str) -> Option<Breaker> {
        self.breakers.remove(name)
    }

    /// The configuration a breaker named `name` is made with.
    pub fn config_for(&self, name: &str) -> &BreakerConfig {
        self.overrides.get(name).unwrap_or(&self.defaults)
    }

    /// The bus every breaker of this registry publishes into.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The breakers made so far, by name.
    pub fn breakers(&self) -> &Registry<Breaker> {
        &self.breakers
    }
}
