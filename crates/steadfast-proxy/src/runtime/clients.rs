//! Client keys: who may use the gateway, and how fast. Limits live on across
//! reloads for clients whose settings did not change.

use std::collections::HashMap;
use std::sync::Arc;

use steadfast::events::Events;
use steadfast::rate_limit::{Quota, RateLimitExceeded};
use steadfast_config::ClientConfig;

use super::limit::Limiter;
use crate::fleet::Fleet;

/// One known client.
#[derive(Debug)]
pub struct Client {
    /// The client's name in the config (safe to log; the key is not).
    pub name: Arc<str>,
    settings: ClientConfig,
    limit: Option<Limiter>,
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
                Some(Quota::per_minute(rpm)),
                None,
                &events,
                fleet,
            )
        });
        Client {
            name,
            settings: settings.clone(),
            limit,
        }
    }

    /// Takes one request from the client's allowance (the fleet's, with a
    /// shared state).
    pub async fn admit(&self) -> Result<(), RateLimitExceeded> {
        match &self.limit {
            Some(limit) => limit.check(0).await,
            None => Ok(()),
        }
    }
}

/// The known clients, by key. Empty means the gateway is open to anyone.
#[derive(Debug, Default)]
pub struct Clients {
    by_key: HashMap<String, Arc<Client>>,
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
                let key = settings.key.expose().to_owned();
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
        self.by_key.get(key)
    }
}
