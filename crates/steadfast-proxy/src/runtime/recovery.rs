//! Recovery probes: a model whose breaker's open time is over is called at
//! once with a streamed one-token request in its own format (a real
//! generation, which a model list answered by a healthy front door cannot
//! stand in for; streamed, as most traffic is, so a model whose streams
//! break is not taken back), and the answer feeds the breaker as a
//! half-open call would: successes close it (`half_open_calls` of them, a
//! tick apart), a failure reopens it for a longer time
//! (`open_for_multiplier`, capped by `max_open_for`). Recovery then waits
//! neither for a client's request to take the risk nor for luck in its
//! timing; a dead model costs one tiny call per open period.
//!
//! Not probed: a model whose active health probes fail (it is back when
//! they pass), one that asked to wait (`Retry-After`, honoured from a probe's
//! answer too), and for an open time, one whose last probe was refused as a
//! request (a model that wants other parameters: live traffic decides
//! then). One task looks at every watched target once a [`TICK`]; with a
//! fleet, one gateway probes a model ([`Fleet::lease`], taken before the
//! breaker is asked) and the others adopt the breaker's transitions as they
//! adopt any. Turned off per model by `circuit_breaker.recovery_probe: false`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use steadfast::Failure;
use steadfast::breaker::State;
use steadfast_wire::Format;
use steadfast_wire::framing::Framing;
use steadfast_wire::model::{ChatRequest, Message, Part, Role};
use steadfast_wire::translate::{Progress, Translation};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::Target;
use crate::fleet::Fleet;
use crate::upstream::{self, Upstream, judge_error};

/// How often the breakers of watched targets are looked at.
const TICK: Duration = Duration::from_secs(1);

/// The most of a probe's answer read: a one-token answer is far smaller.
const MAX_PROBE_BYTES: usize = 64 * 1024;

/// The recovery probes of every target of the runtime.
#[derive(Debug)]
pub struct Recovery {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    upstream: Upstream,
    fleet: Option<Arc<dyn Fleet>>,
    targets: Mutex<HashMap<Arc<str>, Weak<Target>>>,
    /// Targets with a probe in flight.
    probing: Mutex<HashSet<Arc<str>>>,
    /// Targets not to probe before a time (their last probe was ignored).
    resting: Mutex<HashMap<Arc<str>, Instant>>,
}

impl Recovery {
    /// Starts looking at the targets it will be given (needs a tokio runtime).
    pub fn start(upstream: Upstream, fleet: Option<Arc<dyn Fleet>>) -> Recovery {
        let shared = Arc::new(Shared {
            upstream,
            fleet,
            targets: Mutex::new(HashMap::new()),
            probing: Mutex::new(HashSet::new()),
            resting: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(look_on(Arc::downgrade(&shared)));
        Recovery { shared, task }
    }

    /// Probes `target` at the end of its breaker's open times from now on
    /// (until it is dropped or [`forget`](Self::forget)ten).
    pub fn watch(&self, target: &Arc<Target>) {
        if let Ok(mut targets) = self.shared.targets.lock() {
            targets.insert(Arc::clone(&target.name), Arc::downgrade(target));
        }
    }

    /// Stops probing the target `name`.
    pub fn forget(&self, name: &str) {
        if let Ok(mut targets) = self.shared.targets.lock() {
            targets.remove(name);
        }
    }
}

impl Drop for Recovery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Looks at every watched target each [`TICK`] while the [`Recovery`] lives;
/// the probes it started end with it.
async fn look_on(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut probes = JoinSet::new();
    loop {
        tick.tick().await;
        while probes.try_join_next().is_some() {}
        let Some(shared) = shared.upgrade() else {
            return;
        };
        for target in shared.due() {
            if let Ok(mut probing) = shared.probing.lock() {
                probing.insert(Arc::clone(&target.name));
            }
            let shared = Arc::clone(&shared);
            probes.spawn(async move {
                shared.probe(&target).await;
                if let Ok(mut probing) = shared.probing.lock() {
                    probing.remove(&target.name);
                }
            });
        }
    }
}

impl Shared {
    /// Watched targets whose breaker would let a probe through now: open
    /// with its open time over, or half-open; none probed already, none that
    /// asked to wait (`Retry-After`) or whose last probe was ignored lately.
    fn due(&self) -> Vec<Arc<Target>> {
        let probing = self.probing.lock().map(|p| p.clone()).unwrap_or_default();
        let now = Instant::now();
        let resting = self
            .resting
            .lock()
            .map(|mut resting| {
                resting.retain(|_, until| *until > now);
                resting.clone()
            })
            .unwrap_or_default();
        let Ok(mut targets) = self.targets.lock() else {
            return Vec::new();
        };
        targets.retain(|_, target| target.strong_count() > 0);
        targets
            .values()
            .filter_map(Weak::upgrade)
            .filter(|target| {
                // An unhealthy model is back when its health probes say so:
                // probing it meanwhile would only grow its open time.
                target.settings.circuit_breaker.recovery_probe
                    && target.health.is_available()
                    && target.cooling_down().is_none()
                    && !probing.contains(&target.name)
                    && !resting.contains_key(&target.name)
                    && match target.breaker.state() {
                        State::HalfOpen => true,
                        State::Open => target.breaker.open_remaining() == Some(Duration::ZERO),
                        State::Closed | State::ForcedOpen | State::Disabled => false,
                    }
            })
            .collect()
    }

    /// One probe of `target`, unless another gateway of the fleet holds the
    /// model's lease (asked before the breaker is, so a gateway that does
    /// not probe leaves its breaker as it is) or the breaker lets none
    /// through now.
    async fn probe(&self, target: &Target) {
        let open_for = target.settings.circuit_breaker.open_for.0.max(TICK);
        if let Some(fleet) = &self.fleet {
            if !fleet
                .lease(&format!("recovery:{}", target.name), open_for)
                .await
            {
                return;
            }
        }
        let Ok(permit) = target.breaker.try_acquire_owned() else {
            return;
        };
        let verdict = tokio::time::timeout(target.timeout(), self.call(target))
            .await
            .unwrap_or_else(|_| Err(Failure::timeout()));
        let result = match verdict {
            Ok(()) => {
                permit.record_success();
                "success"
            }
            Err(failure) if failure.kind.counts_against_target() => {
                if let Some(after) = failure.retry_after {
                    target.cool_down(after);
                }
                permit.record_failure(failure);
                "failure"
            }
            // The tiny request itself was refused (a model that wants
            // `max_completion_tokens`, say): nothing said of its health, and
            // no probe again before another open time (live traffic may
            // close the breaker meanwhile).
            Err(_) => {
                permit.record_ignored();
                if let Ok(mut resting) = self.resting.lock() {
                    resting.insert(Arc::clone(&target.name), Instant::now() + open_for);
                }
                "ignored"
            }
        };
        target.metrics.recovery_probe(result);
        tracing::info!(target_model = %target.name, result, state = %target.breaker.state(), "recovery probe");
    }

    /// Sends the one-token request, streamed (the shape most traffic takes,
    /// and the one that shows a stream that breaks), and judges its answer:
    /// a success only when the stream ends whole.
    async fn call(&self, target: &Target) -> Result<(), Failure> {
        let (provider, format) = (&target.provider, target.provider.format);
        let body = format
            .codec()
            .write_request(&one_token(), target.upstream_model());
        let body = provider.adapt_chat(body);
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let response = self
            .upstream
            .post(
                &target.provider,
                target.upstream_model(),
                provider.chat_path(format.codec().chat_path(true), true),
                body,
                "recovery-probe",
            )
            .await
            .map_err(|error| error.failure)?;
        let status = response.status();
        if status.is_success() {
            return read_whole(format, response).await;
        }
        let headers = response.headers().clone();
        let body = upstream::read_error_body(&target.provider.name, response)
            .await
            .map_err(|error| error.failure)?;
        let error = judge_error(&target.provider, status, &headers, &body);
        tracing::debug!(target_model = %target.name, "recovery probe refused: {}", error.message);
        Err(error.failure)
    }
}

/// Reads a streamed answer in `format` to its end: whole (its finish reason
/// and end arrived), or the failure it broke with.
async fn read_whole(format: Format, response: upstream::Response) -> Result<(), Failure> {
    let mut framing = Framing::of(format);
    let mut stream = Translation {
        client: format,
        target: format,
        include_usage: true,
    }
    .stream();
    let mut body = response.into_body();
    let mut read = 0;
    let mut discarded = Vec::new();
    loop {
        while let Some(event) = framing.next_event().map_err(|_| Failure::transient())? {
            discarded.clear();
            match stream.feed(event, &mut discarded) {
                Ok(Progress::Done) => return Ok(()),
                Ok(_) => {}
                Err(error) => return Err(error.failure),
            }
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    read += chunk.len();
                    if read > MAX_PROBE_BYTES {
                        return Err(Failure::transient());
                    }
                    framing.push(&chunk);
                }
            }
            None if stream.end_of_upstream(&mut discarded) => return Ok(()),
            Some(Err(_)) | None => return Err(Failure::transient()),
        }
    }
}

/// The cheapest generation: one token in answer to one word.
fn one_token() -> ChatRequest {
    ChatRequest {
        messages: vec![Message::new(Role::User, vec![Part::Text("ping".into())])],
        max_tokens: Some(1),
        stream: true,
        stream_usage: true,
        ..ChatRequest::default()
    }
}
