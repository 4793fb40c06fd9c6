//! A route's cache of answers (`routes.<name>.cache`): exact matches of a
//! normalised request ([`key`]), kept in this gateway's memory within a bound
//! in bytes ([`memory`]), or, with a fleet, in its shared store with each
//! value bounded (a store that cannot be asked turns the cache off for the
//! request, never the route). In `normal` mode a kept answer answers at once;
//! in `stale_if_error` mode only when every target failed. A client's
//! `Cache-Control: no-cache` skips the lookup (the new answer is kept),
//! `no-store` the cache altogether.

pub mod key;
pub mod memory;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use metrics::{Counter, Gauge, counter, gauge};
use steadfast_config::{CacheConfig, CacheMode, CacheScope};
use steadfast_wire::fields::Fields;
use steadfast_wire::format::Format;
use steadfast_wire::{ChatResponse, FinishReason, replay};

use self::key::CacheKey;
use self::memory::MemoryStore;
use crate::fleet::{Fleet, FleetAnswers};
use crate::telemetry::{CACHE_BYTES, CACHE_ENTRIES, CACHE_LOOKUPS};

/// Where a route's answers are kept.
enum Store {
    /// This gateway's memory.
    Memory(MemoryStore),
    /// The fleet's shared store, under keys that start with the route's name.
    Fleet(Arc<dyn FleetAnswers>),
}

/// One route's cache.
pub struct AnswerCache {
    route: Arc<str>,
    /// What answers the route (each target's name, provider, address and
    /// model): part of every key, so answers of other models are never
    /// served, in memory or in the fleet's store.
    answered_by: String,
    settings: CacheConfig,
    store: Store,
    hits: Counter,
    misses: Counter,
    bypassed: Counter,
    unreachable: Counter,
    bytes: Gauge,
    entries: Gauge,
}

impl fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerCache")
            .field("route", &self.route)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// How one request uses its route's cache.
#[derive(Debug, Clone)]
pub struct CachePlan {
    cache: Arc<AnswerCache>,
    key: CacheKey,
    /// Whether to look (not with `Cache-Control: no-cache`).
    look: bool,
}

impl AnswerCache {
    /// The cache of `route`, answered by `answered_by` (what answers the
    /// route: each target's name, provider, address and model), in the
    /// fleet's store if there is one.
    pub fn new(
        route: &str,
        answered_by: String,
        settings: &CacheConfig,
        fleet: Option<&dyn Fleet>,
    ) -> AnswerCache {
        let store = match fleet {
            Some(fleet) => Store::Fleet(fleet.answers()),
            None => Store::Memory(MemoryStore::new(settings.max_bytes, settings.ttl.0)),
        };
        let lookups = |result: &'static str| counter!(CACHE_LOOKUPS, "route" => route.to_owned(), "result" => result);
        AnswerCache {
            route: route.into(),
            answered_by,
            settings: settings.clone(),
            store,
            hits: lookups("hit"),
            misses: lookups("miss"),
            bypassed: lookups("bypass"),
            unreachable: lookups("unreachable"),
            bytes: gauge!(CACHE_BYTES, "route" => route.to_owned()),
            entries: gauge!(CACHE_ENTRIES, "route" => route.to_owned()),
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &CacheConfig {
        &self.settings
    }

    /// Whether this cache keeps the answers of `answered_by` with `settings`
    /// (so a reload may keep it).
    pub fn keeps(&self, answered_by: &str, settings: &CacheConfig) -> bool {
        self.answered_by == answered_by && self.settings == *settings
    }

    /// How a request of `format` with `fields` (sent by `client`, with
    /// `headers`) uses the cache; `None` when its answer may not be kept
    /// (not a `chat` request, sampling, several choices) or the client said
    /// `no-store`. A cache kept per client (`scope: client`, the default when
    /// clients are configured) answers a client from its own answers only.
    pub fn plan(
        self: &Arc<Self>,
        request: (Format, &Fields),
        chat: bool,
        client: Option<&str>,
        headers: &HeaderMap,
    ) -> Option<CachePlan> {
        if !chat {
            return None;
        }
        let (format, fields) = request;
        let directives: Vec<String> = headers
            .get_all(http::header::CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|directive| directive.trim().to_ascii_lowercase())
            .collect();
        if directives.iter().any(|d| d == "no-store") {
            self.bypassed.increment(1);
            return None;
        }
        let default_scope = if client.is_some() {
            CacheScope::Client
        } else {
            CacheScope::Shared
        };
        let owner = match self.settings.scope.unwrap_or(default_scope) {
            CacheScope::Client => client.unwrap_or_default(),
            CacheScope::Shared => "",
        };
        let place = [&*self.route, self.answered_by.as_str(), owner];
        let key = key::key(&place, format, fields, self.settings.sampled)?;
        let look = !directives.iter().any(|d| d == "no-cache");
        if !look {
            self.bypassed.increment(1);
        }
        Some(CachePlan {
            cache: Arc::clone(self),
            key,
            look,
        })
    }

    fn fleet_key(&self, key: &CacheKey) -> String {
        format!("{}:{}", self.route, hex::encode(key))
    }

    fn publish_usage(&self) {
        if let Store::Memory(store) = &self.store {
            let (bytes, entries) = store.usage();
            self.bytes.set(bytes as f64);
            self.entries.set(entries as f64);
        }
    }
}

impl CachePlan {
    /// The route's cache mode.
    pub fn mode(&self) -> CacheMode {
        self.cache.settings.mode
    }

    /// The answer kept for the request, if any (and if the client allows a
    /// lookup).
    pub async fn get(&self) -> Option<Arc<ChatResponse>> {
        if !self.look {
            return None;
        }
        let cache = &self.cache;
        let found = match &cache.store {
            Store::Memory(store) => {
                let found = store.get(&self.key);
                if found.is_none() {
                    // An answer past its time may just have been let go.
                    cache.publish_usage();
                }
                found
            }
            Store::Fleet(answers) => match answers.get(&cache.fleet_key(&self.key)).await {
                Ok(value) => value.and_then(|bytes| replay::from_json(&bytes).ok().map(Arc::new)),
                Err(()) => {
                    cache.unreachable.increment(1);
                    return None;
                }
            },
        };
        let counter = if found.is_some() {
            &cache.hits
        } else {
            &cache.misses
        };
        counter.increment(1);
        found
    }

    /// The largest answer kept, in bytes.
    pub fn max_entry_bytes(&self) -> usize {
        usize::try_from(self.cache.settings.max_entry_bytes).unwrap_or(usize::MAX)
    }

    /// Keeps a whole answer written in the client's `format`.
    pub fn keep_body(&self, format: Format, body: &Bytes) {
        if body.len() > self.max_entry_bytes() {
            return;
        }
        let Ok(value) = serde_json::from_slice(body) else {
            return;
        };
        if let Ok(answer) = format.codec().parse_response(&value) {
            self.keep(answer);
        }
    }

    /// Keeps `answer`, if it is a whole answer worth replaying (it stopped
    /// by itself, at its length or to call tools, and says something; not
    /// filtered, not another gateway's static answer) and within the bound
    /// of one answer.
    pub fn keep(&self, answer: ChatResponse) {
        let whole = matches!(
            answer.finish,
            FinishReason::Stop | FinishReason::ToolCalls | FinishReason::Length
        );
        if !whole || (answer.text.is_empty() && answer.tool_calls.is_empty()) {
            return;
        }
        let stored = replay::to_json(&answer);
        if stored.len() > self.max_entry_bytes() {
            return;
        }
        let cache = &self.cache;
        match &cache.store {
            Store::Memory(store) => store.put(self.key, Arc::new(answer), stored.len()),
            Store::Fleet(answers) => answers.put(
                &cache.fleet_key(&self.key),
                Bytes::from(stored),
                cache.settings.ttl.0,
            ),
        }
        cache.publish_usage();
    }
}
