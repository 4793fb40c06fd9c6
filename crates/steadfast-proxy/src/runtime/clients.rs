//! Client keys: who may use the gateway, and how fast. Limits live on across
//! reloads for clients whose settings did not change.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use steadfast::events::Events;
use steadfast::rate_limit::RateLimitExceeded;
use steadfast_config::{ClientConfig, Priority};

use super::limit::{Limiter, per_minute};
use crate::fleet::Fleet;

/// One known client.
#[derive(Debug)]
pub struct Client {
    /// The client's name in the config (safe to log; the key is not).
    pub name: Arc<str>,
    settings: ClientConfig,
    limit: Option<Limiter>,
    in_flight: Option<Arc<Semaphore>>,
}

/// Why a client's request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRefusal {
    /// Over its requests per minute; try again after this long.
    RateLimited(RateLimitExceeded),
    /// As many requests in flight as `max_concurrent_requests` allows.
    TooManyInFlight {
        /// The limit.
        limit: usize,
    },
}

/// A client's leave to have one request in flight; held until the answer
/// has ended (a stream's last event). The default pass (no client keys)
/// holds no slot and has the normal priority.
#[derive(Debug, Default)]
pub struct ClientPass {
    _slot: Option<OwnedSemaphorePermit>,
    /// The client's priority.
    pub priority: Priority,
    /// The client's name; none when the gateway is open to anyone.
    pub client: Option<Arc<str>>,
}

impl Client {
    fn new(name: &str, settings: &ClientConfig, fleet: Option<&dyn Fleet>) -> Client {
        let name: Arc<str> = name.into();
        let limit = settings.requests_per_minute.map(|rpm| {
            let scope = format!("client:{name}");
            // Client refusals are answered with 429, not published as policy events.
            let events = Events::none();
            Limiter::new(
                &name,
                &scope,
                Some(per_minute(rpm, settings.burst.0)),
                None,
                &events,
                fleet,
            )
        });
        Client {
            name,
            settings: settings.clone(),
            limit,
            in_flight: settings
                .max_concurrent_requests
                .map(|n| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS)))),
        }
    }

    /// Takes one request from the client's allowance (the fleet's, with a
    /// shared state) and one of its slots for requests in flight.
    pub async fn admit(&self) -> Result<ClientPass, ClientRefusal> {
        let slot = match &self.in_flight {
            None => None,
            Some(slots) => Some(Arc::clone(slots).try_acquire_owned().map_err(|_| {
                ClientRefusal::TooManyInFlight {
                    limit: self.settings.max_concurrent_requests.unwrap_or_default(),
                }
            })?),
        };
        if let Some(limit) = &self.limit {
            limit.check(0).await.map_err(ClientRefusal::RateLimited)?;
        }
        Ok(ClientPass {
            _slot: slot,
            priority: self.settings.priority,
            client: Some(Arc::clone(&self.name)),
        })
    }
}

/// The known clients, by the SHA-256 digest of their key. Empty means the
/// gateway is open to anyone. A key is found by its digest, so the time a
/// lookup takes tells a caller nothing about how much of a key it guessed,
/// and no key is kept in the table.
#[derive(Debug, Default)]
pub struct Clients {
    by_key: HashMap<KeyDigest, Arc<Client>>,
}

/// The SHA-256 digest of a client key.
type KeyDigest = [u8; 32];

fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

impl Clients {
    /// Builds the client table, keeping the clients (and their limits) of
    /// `previous` whose settings are unchanged.
    pub fn build(
        config: &std::collections::BTreeMap<String, ClientConfig>,
        previous: Option<&Clients>,
        fleet: Option<&dyn Fleet>,
    ) -> Clients {
        let by_key = config
            .iter()
            .map(|(name, settings)| {
                let key = digest(settings.key.expose());
                let kept = previous
                    .and_then(|old| old.by_key.get(&key))
                    .filter(|old| *old.name == **name && old.settings == *settings);
                let client = kept
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Client::new(name, settings, fleet)));
                (key, client)
            })
            .collect();
        Clients { by_key }
    }

    /// Whether client keys are required.
    pub fn required(&self) -> bool {
        !self.by_key.is_empty()
    }

    /// The client holding `key`.
    pub fn find(&self, key: &str) -> Option<&Arc<Client>> {
        self.by_key.get(&digest(key))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use steadfast_config::{ClientConfig, ConfigDuration, Secret};

    use super::{ClientRefusal, Clients};

    #[test]
    fn a_client_is_found_by_its_whole_key_only_and_kept_across_rebuilds() {
        let config = BTreeMap::from([(
            "team-a".to_owned(),
            ClientConfig {
                key: Secret::new("sk-team-a-0123456789"),
                requests_per_minute: Some(60),
                burst: ConfigDuration::secs(5),
                max_concurrent_requests: None,
                priority: Default::default(),
            },
        )]);
        let clients = Clients::build(&config, None, None);
        assert!(clients.required());
        let found = clients.find("sk-team-a-0123456789").unwrap();
        assert_eq!(&*found.name, "team-a");
        for wrong in [
            "",
            "sk-team-a-012345678",
            "sk-team-a-01234567890",
            "SK-TEAM-A-0123456789",
        ] {
            assert!(clients.find(wrong).is_none(), "{wrong:?}");
        }
        assert!(
            !format!("{clients:?}").contains("sk-team-a"),
            "the key is kept"
        );
        let rebuilt = Clients::build(&config, Some(&clients), None);
        assert!(std::sync::Arc::ptr_eq(
            rebuilt.find("sk-team-a-0123456789").unwrap(),
            found
        ));
    }

    #[tokio::test]
    async fn a_client_has_at_most_its_limit_in_flight() {
        let config = BTreeMap::from([(
            "team-b".to_owned(),
            ClientConfig {
                key: Secret::new("sk-team-b-0123456789"),
                requests_per_minute: None,
                burst: ConfigDuration::secs(5),
                max_concurrent_requests: Some(2),
                priority: Default::default(),
            },
        )]);
        let clients = Clients::build(&config, None, None);
        let client = clients.find("sk-team-b-0123456789").unwrap();
        let first = client.admit().await.unwrap();
        let _second = client.admit().await.unwrap();
        assert_eq!(
            client.admit().await.unwrap_err(),
            ClientRefusal::TooManyInFlight { limit: 2 }
        );
        drop(first);
        assert!(client.admit().await.is_ok());
    }
}
