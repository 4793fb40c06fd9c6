//! Reload triggers besides the admin API: a change of the config file, and
//! `SIGHUP`.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use steadfast_net::wait_for;
use tokio::sync::{mpsc, watch};

use crate::state::AppState;

/// Quiet time after the last file event before reloading (editors write in steps).
const SETTLE: Duration = Duration::from_millis(250);

/// Watches the config file; the watch is in place when this returns, so no
/// change made afterwards is missed. `None` (logged) if the platform refuses.
pub(super) fn watch_config(app: &AppState) -> Option<ConfigWatch> {
    let path = app.config_path.clone();
    // Watch the directory: editors and `mv` replace the file, which a watch on
    // the file itself would lose.
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path.file_name().map(ToOwned::to_owned);
    let (changed, changes) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let relevant = event.kind.is_modify() || event.kind.is_create();
            if relevant
                && event
                    .paths
                    .iter()
                    .any(|p| p.file_name() == file_name.as_deref())
            {
                let _ = changed.send(());
            }
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the config file; reload with SIGHUP or the admin API");
            return None;
        }
    };
    if let Err(error) = watcher.watch(&directory, RecursiveMode::NonRecursive) {
        tracing::warn!(%error, "cannot watch the config directory; reload with SIGHUP or the admin API");
        return None;
    }
    Some(ConfigWatch {
        _watcher: watcher,
        changes,
    })
}

/// A live watch of the config file.
pub(super) struct ConfigWatch {
    _watcher: notify::RecommendedWatcher,
    changes: mpsc::UnboundedReceiver<()>,
}

/// Reloads whenever the watched file changes, until `stop`.
pub(super) async fn reload_on_change(
    app: Arc<AppState>,
    mut watch: ConfigWatch,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            event = watch.changes.recv() => {
                if event.is_none() {
                    return;
                }
                // Let a burst of writes settle into one reload.
                while let Ok(Some(())) = tokio::time::timeout(SETTLE, watch.changes.recv()).await {}
                let _ = app.reload("file change").await;
            }
            _ = wait_for(&mut stop) => return,
        }
    }
}

/// Reloads on `SIGHUP`, until `stop`.
pub(super) async fn reload_on_sighup(app: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload on file change or with the admin API");
            return;
        };
        loop {
            tokio::select! {
                _ = hangups.recv() => {
                    let _ = app.reload("SIGHUP").await;
                }
                _ = wait_for(&mut stop) => return,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (app, wait_for(&mut stop).await);
    }
}
