//! The stage a scenario plays on: in-process (simulated providers and a
//! gateway started here, on free ports, by the [`Launcher`] the caller
//! gives) or remote (a running gateway whose simulated providers are driven
//! through their control URLs).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_yaml_ng::{Mapping, Value};
use steadfast_config::{self as config, Config};
use steadfast_mock::{Control, Faults, MockOptions, MockServer};

use super::scenario::{MockSpec, Scenario};

/// A gateway running in this process, as a scenario needs it.
pub trait Gateway: Send {
    /// The address it listens on.
    fn addr(&self) -> SocketAddr;

    /// Stops it, letting in-flight requests finish.
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// What starts a gateway in this process for a scenario: given the config
/// (and the file it was read from), a running gateway. The chaos runner
/// knows no gateway of its own, so the binary that embeds it gives one.
#[derive(Clone)]
pub struct Launcher(Arc<LaunchFn>);

/// The function behind a [`Launcher`].
type LaunchFn =
    dyn Fn(Config, PathBuf) -> BoxFuture<'static, anyhow::Result<Box<dyn Gateway>>> + Send + Sync;

impl Launcher {
    /// A launcher calling `launch`.
    pub fn new(
        launch: impl Fn(Config, PathBuf) -> BoxFuture<'static, anyhow::Result<Box<dyn Gateway>>>
        + Send
        + Sync
        + 'static,
    ) -> Launcher {
        Launcher(Arc::new(launch))
    }

    async fn launch(&self, config: Config, path: PathBuf) -> anyhow::Result<Box<dyn Gateway>> {
        (self.0)(config, path).await
    }
}

impl fmt::Debug for Launcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launcher").finish_non_exhaustive()
    }
}

/// Where fault settings go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Straight into in-process providers' controls.
    Local(BTreeMap<String, Arc<Control>>),
    /// `PUT {url}/_mock/faults` of remote providers.
    Remote {
        /// The HTTP client.
        client: reqwest::Client,
        /// Control URLs by provider.
        urls: BTreeMap<String, String>,
    },
}

impl Sink {
    /// Gives `provider` these settings.
    pub async fn set(&self, provider: &str, faults: &Faults) -> anyhow::Result<()> {
        match self {
            Sink::Local(controls) => {
                if let Some(control) = controls.get(provider) {
                    control.set(faults.clone());
                }
            }
            Sink::Remote { client, urls } => {
                if let Some(url) = urls.get(provider) {
                    client
                        .put(format!("{}/_mock/faults", url.trim_end_matches('/')))
                        .json(faults)
                        .send()
                        .await?
                        .error_for_status()?;
                }
            }
        }
        Ok(())
    }
}

/// What the stage is set up from, besides the scenario.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Drive this running gateway instead of the scenario's.
    pub gateway_url: Option<String>,
    /// Starts the in-process gateway.
    pub launcher: Launcher,
    /// Where the in-process gateway listens (default: a free loopback port).
    pub listen: Option<SocketAddr>,
    /// Where the effective gateway config is written.
    pub dir: PathBuf,
}

/// A gateway and the providers behind it, ready for traffic and faults.
pub struct Stage {
    /// The gateway's base URL, `http://ADDR`.
    pub url: String,
    /// Where fault settings go.
    pub sink: Sink,
    /// Each provider's settings without faults.
    pub base: BTreeMap<String, Faults>,
    /// The in-process providers.
    pub mocks: Vec<MockServer>,
    /// The in-process gateway.
    pub gateway: Option<Box<dyn Gateway>>,
}

impl Stage {
    /// Sets the stage for `scenario`.
    pub async fn start(scenario: &Scenario, options: &StageOptions) -> anyhow::Result<Stage> {
        match options
            .gateway_url
            .clone()
            .or_else(|| scenario.gateway.url.clone())
        {
            Some(url) => Stage::remote(scenario, url).await,
            None => Stage::local(scenario, options).await,
        }
    }

    /// Whether the gateway runs in this process.
    pub fn in_process(&self) -> bool {
        self.gateway.is_some()
    }

    /// Stops the in-process gateway and providers.
    pub async fn stop(self) {
        if let Some(gateway) = self.gateway {
            gateway.stop().await;
        }
    }

    async fn remote(scenario: &Scenario, url: String) -> anyhow::Result<Stage> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let urls = scenario.gateway.controls.clone();
        let mut base = BTreeMap::new();
        for (name, control) in &urls {
            let faults: Faults = client
                .get(format!("{}/_mock/faults", control.trim_end_matches('/')))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|error| anyhow::anyhow!("provider {name}'s control {control}: {error}"))?
                .json()
                .await?;
            base.insert(name.clone(), faults);
        }
        Ok(Stage {
            url: url.trim_end_matches('/').to_owned(),
            sink: Sink::Remote { client, urls },
            base,
            mocks: Vec::new(),
            gateway: None,
        })
    }

    async fn local(scenario: &Scenario, options: &StageOptions) -> anyhow::Result<Stage> {
        let mut mocks = Vec::new();
        let mut base = BTreeMap::new();
        let mut controls = BTreeMap::new();
        for (index, (name, spec)) in scenario.mocks.iter().enumerate() {
            let faults = base_faults(spec);
            let mut mock_options = MockOptions::named(name);
            mock_options.faults = faults.clone();
            mock_options.seed = scenario.seed.wrapping_add(index as u64);
            let mock = MockServer::start(mock_options).await?;
            base.insert(name.clone(), faults);
            controls.insert(name.clone(), Arc::clone(mock.control()));
            mocks.push(mock);
        }
        let providers: Vec<(&str, String)> = scenario
            .mocks
            .keys()
            .zip(&mocks)
            .map(|(name, mock)| (name.as_str(), mock.base_url()))
            .collect();
        let yaml = gateway_yaml(scenario, &providers, options.listen)?;
        std::fs::create_dir_all(&options.dir)?;
        let path = options.dir.join("gateway.yaml");
        std::fs::write(&path, &yaml)?;
        let loaded = config::parse(&yaml, &path, &|name| std::env::var(name).ok())?;
        let gateway = options.launcher.launch(loaded, path).await?;
        Ok(Stage {
            url: format!("http://{}", gateway.addr()),
            sink: Sink::Local(controls),
            base,
            mocks,
            gateway: Some(gateway),
        })
    }
}

fn base_faults(spec: &MockSpec) -> Faults {
    let millis = |d: Option<config::ConfigDuration>| {
        d.map_or(0, |d| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX))
    };
    Faults {
        latency_ms: millis(spec.latency),
        chunk_interval_ms: millis(spec.chunk_interval),
        ..Faults::default()
    }
}

/// The scenario's gateway config with a provider for each simulated one and
/// the listen address set (a free loopback port unless given or configured).
fn gateway_yaml(
    scenario: &Scenario,
    providers: &[(&str, String)],
    listen: Option<SocketAddr>,
) -> anyhow::Result<String> {
    let mut value = match (&scenario.gateway.config, &scenario.gateway.config_file) {
        (Some(inline), _) => inline.clone(),
        (None, Some(file)) => read_yaml(file)?,
        (None, None) => anyhow::bail!("the scenario names no gateway config"),
    };
    let root = value
        .as_mapping_mut()
        .ok_or_else(|| anyhow::anyhow!("gateway.config: expected a mapping"))?;
    let section = |root: &mut Mapping, key: &str| -> anyhow::Result<Mapping> {
        match root.remove(key) {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Mapping(map)) => Ok(map),
            Some(_) => anyhow::bail!("gateway.config.{key}: expected a mapping"),
        }
    };
    let mut declared = section(root, "providers")?;
    for (name, base_url) in providers {
        if declared.contains_key(*name) {
            anyhow::bail!("gateway.config.providers.{name}: set by the scenario's mocks");
        }
        let mut provider = Mapping::new();
        provider.insert("kind".into(), "openai".into());
        provider.insert("base_url".into(), base_url.as_str().into());
        declared.insert((*name).into(), Value::Mapping(provider));
    }
    root.insert("providers".into(), Value::Mapping(declared));
    let mut server = section(root, "server")?;
    match listen {
        Some(addr) => {
            server.insert("listen".into(), addr.to_string().into());
        }
        None if !server.contains_key("listen") => {
            server.insert("listen".into(), "127.0.0.1:0".into());
        }
        None => {}
    }
    root.insert("server".into(), Value::Mapping(server));
    Ok(serde_yaml_ng::to_string(&value)?)
}

fn read_yaml(file: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file)
        .map_err(|error| anyhow::anyhow!("{}: cannot read: {error}", file.display()))?;
    let mut value: Value = serde_yaml_ng::from_str(&text)
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    value.apply_merge()?;
    Ok(value)
}
