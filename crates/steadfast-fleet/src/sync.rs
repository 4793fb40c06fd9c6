//! The background tasks of a Redis-backed gateway: the supervisor (connects,
//! subscribes, resynchronises, adopts remote breaker changes, notices when
//! Redis goes and reconnects with backoff), the publisher of local breaker
//! transitions, and the writer of deferred writes (audit, rate-limit corrections).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use steadfast::events::Event;
use steadfast_proxy::Proxy;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::breakers::Breakers;
use super::link::Link;

/// First wait before reconnecting; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often a connected link is checked (`ROLE`: answering, and a primary).
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Starts the tasks of `link`; they end when `stop` turns true.
pub(super) fn spawn(
    proxy: &Arc<Proxy>,
    link: &Arc<Link>,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let breakers = Arc::new(Breakers::new(Arc::clone(link)));
    vec![
        tokio::spawn(supervise(
            Arc::clone(proxy),
            Arc::clone(link),
            Arc::clone(&breakers),
            stop.clone(),
        )),
        tokio::spawn(publish_local(Arc::clone(proxy), breakers, stop.clone())),
        tokio::spawn(write_deferred(Arc::clone(link), stop.clone())),
    ]
}

/// Keeps the link connected and the breakers in step with the fleet.
async fn supervise(
    proxy: Arc<Proxy>,
    link: Arc<Link>,
    breakers: Arc<Breakers>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let connect = async {
            if link.needs_renewal() {
                // The old connection stays with a demoted server: a new one
                // goes to the primary the Sentinels name, or where the
                // address leads now.
                link.renew().await?;
            }
            let mut pubsub = link.pubsub().await?;
            link.bounded(pubsub.subscribe(breakers.channel())).await?;
            recheck(&link, &breakers, &proxy).await?;
            Ok::<_, String>(pubsub)
        };
        let connected = tokio::select! {
            _ = stop.changed() => return,
            connected = connect => connected,
        };
        let mut pubsub = match connected {
            Ok(pubsub) => pubsub,
            Err(reason) => {
                link.failed("connect", &reason);
                tokio::select! {
                    _ = stop.changed() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        link.set_up();
        backoff = MIN_BACKOFF;
        let mut messages = pubsub.on_message();
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                message = messages.next() => match message {
                    Some(message) => match message.get_payload::<String>() {
                        Ok(payload) => breakers.remote_change(&proxy.runtime(), &payload),
                        Err(error) => tracing::warn!(%error, "shared state: unreadable message"),
                    },
                    None => {
                        link.failed("subscribe", "the subscription connection closed");
                        break;
                    }
                },
                () = link.trouble() => {
                    // A command failed: if Redis answers, resync and carry on.
                    match recheck(&link, &breakers, &proxy).await {
                        Ok(()) => link.set_up(),
                        Err(reason) => {
                            link.failed("check", &reason);
                            break;
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if let Err(reason) = writable(&link).await {
                        link.failed("heartbeat", &reason);
                        break;
                    }
                }
            }
        }
        link.set_down();
    }
}

/// Makes Redis usable after a (re)connection or a failed command: a
/// writable primary, with the scripts loaded (a restarted server has none),
/// and the breakers resynchronised.
async fn recheck(link: &Link, breakers: &Breakers, proxy: &Proxy) -> Result<(), String> {
    writable(link).await?;
    super::scripts::load(link).await?;
    breakers.resync(&proxy.runtime()).await
}

/// Checks that the server answers and is a writable primary (`ROLE`) — and,
/// through Sentinel, the one the Sentinels name: a replica is noted as
/// read-only. A cluster answers `PING` on every node.
async fn writable(link: &Link) -> Result<(), String> {
    let mut connection = link.command_connection()?;
    if link.is_cluster() {
        // Sent to every node; the cluster connection finds each slot's
        // primary by itself.
        return link
            .bounded(redis::cmd("PING").query_async::<()>(&mut connection))
            .await;
    }
    let role = link
        .bounded(redis::cmd("ROLE").query_async::<Vec<redis::Value>>(&mut connection))
        .await?;
    match role.first() {
        Some(redis::Value::BulkString(name)) if name.as_slice() == b"master" => {
            link.confirm_primary().await
        }
        _ => {
            link.note_readonly();
            Err(
                "the server is a read-only replica: waiting for the address to lead to the primary"
                    .into(),
            )
        }
    }
}

/// Publishes this gateway's breaker transitions to the fleet.
async fn publish_local(
    proxy: Arc<Proxy>,
    breakers: Arc<Breakers>,
    mut stop: watch::Receiver<bool>,
) {
    let mut events = proxy.events().subscribe();
    loop {
        let event = tokio::select! {
            _ = stop.changed() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(Event::BreakerStateChanged { name, to, .. }) => {
                breakers.local_change(&proxy.runtime(), &name, to).await;
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "shared state: fell behind the events bus; resyncing"
                );
                breakers.lagged(&proxy.runtime());
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Sends deferred writes in order, waiting while Redis is away.
async fn write_deferred(link: Arc<Link>, mut stop: watch::Receiver<bool>) {
    let Some(mut queue) = link.take_queue() else {
        return;
    };
    loop {
        let next = tokio::select! {
            _ = stop.changed() => return,
            next = queue.recv() => next,
        };
        let Some((op, command)) = next else {
            return;
        };
        tokio::select! {
            _ = stop.changed() => return,
            () = link.wait_up() => {}
        }
        let Some(mut connection) = link.connection() else {
            continue;
        };
        let _ = link
            .run(op, command.query_async::<redis::Value>(&mut connection))
            .await;
    }
}
