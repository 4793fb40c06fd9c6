//! Kept answers in this gateway's memory, within a bound in bytes: the
//! least recently used go first when a new one would pass it, and an answer
//! older than the time to live is gone when next looked for.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lru::LruCache;
use steadfast_wire::ChatResponse;
use tokio::time::Instant;

use super::key::CacheKey;

/// What an entry costs besides its answer: the key, the map's slot, the
/// entry's own fields.
const ENTRY_OVERHEAD: usize = 160;

/// The kept answers of one route.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_bytes: usize,
    ttl: Duration,
}

#[derive(Debug)]
struct Inner {
    entries: LruCache<CacheKey, Entry>,
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    answer: Arc<ChatResponse>,
    stored: Instant,
    size: usize,
}

impl MemoryStore {
    /// A store of at most `max_bytes`, whose answers live `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer kept for `key`, if it is younger than the time to live.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<ChatResponse>> {
        let mut inner = self.lock();
        let entry = inner.entries.get(key)?;
        if entry.stored.elapsed() < self.ttl {
            return Some(Arc::clone(&entry.answer));
        }
        if let Some(old) = inner.entries.pop(key) {
            inner.bytes -= old.size;
        }
        None
    }

    /// Keeps `answer` (of `bytes` bytes stored) for `key`, making room.
    pub fn put(&self, key: CacheKey, answer: Arc<ChatResponse>, bytes: usize) {
        let size = bytes + ENTRY_OVERHEAD;
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        let entry = Entry {
            answer,
            stored: Instant::now(),
            size,
        };
        if let Some(old) = inner.entries.put(key, entry) {
            inner.bytes -= old.size;
        }
        inner.bytes += size;
        while inner.bytes > self.max_bytes {
            let Some((_, evicted)) = inner.entries.pop_lru() else {
                break;
            };
            inner.bytes -= evicted.size;
        }
    }

    /// Bytes and entries kept.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.bytes, inner.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use steadfast_wire::{FinishReason, Usage};

    use super::*;

    fn answer(text: &str) -> Arc<ChatResponse> {
        Arc::new(ChatResponse {
            id: "id".into(),
            model: "m".into(),
            text: text.into(),
            tool_calls: Vec::new(),
            finish: FinishReason::Stop,
            usage: Usage::default(),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn answers_live_their_time_to_live() {
        let store = MemoryStore::new(1 << 20, Duration::from_secs(60));
        store.put([1; 32], answer("kept"), 100);
        assert_eq!(store.get(&[1; 32]).unwrap().text, "kept");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(store.get(&[1; 32]).is_none());
        assert_eq!(store.usage(), (0, 0), "an expired answer is let go");
    }

    #[test]
    fn writing_ten_times_the_bound_keeps_within_it_dropping_the_least_used() {
        let bound = 100 * 1024;
        let store = MemoryStore::new(bound, Duration::from_secs(60));
        let size = 1000;
        let mut hot = [0; 32];
        hot[0] = 255;
        store.put(hot, answer("hot"), size);
        for i in 0..(10 * bound as usize / size) {
            let mut key = [0; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            store.put(key, answer("cold"), size);
            // The hot answer is used all the time: it stays.
            assert!(
                store.get(&hot).is_some(),
                "the hot answer was dropped at {i}"
            );
            let (bytes, _) = store.usage();
            assert!(bytes <= bound as usize, "{bytes} > {bound}");
        }
        let (bytes, entries) = store.usage();
        assert!(bytes > bound as usize - size - ENTRY_OVERHEAD, "{bytes}");
        assert_eq!(entries, bytes / (size + ENTRY_OVERHEAD));
        store.put([9; 32], answer("too big"), bound as usize);
        assert!(
            store.get(&[9; 32]).is_none(),
            "an answer over the bound is not kept"
        );
    }
}
