//! The live view while a scenario runs: a progress bar with availability and
//! the serving target, or (for the demo) a line per target with its state and
//! the requests it served. On a terminal it redraws in place; elsewhere the
//! bar is hidden and the per-target view prints a line a second.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;
use tokio::time::Instant;

use super::observe::Observer;
use super::record::{Live, Recorder};

/// What the live view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Nothing.
    Hidden,
    /// A bar with availability and the serving target.
    Bar,
    /// The bar plus a line per target (the demo).
    Targets,
}

/// What the view reads from.
pub struct Sources {
    /// Client-side counters.
    pub recorder: Arc<Recorder>,
    /// Target states.
    pub observer: Arc<Observer>,
    /// The run's start.
    pub started: Instant,
    /// The run's length.
    pub total: Duration,
}

fn summary(live: &Live) -> String {
    format!(
        "availability {:.2}% · {} requests · {} client errors · serving {}",
        live.availability() * 100.0,
        live.total,
        live.errors,
        live.serving.as_deref().unwrap_or("-")
    )
}

fn targets(sources: &Sources, live: &Live) -> String {
    let mut lines = Vec::new();
    for target in sources.observer.latest() {
        let served = live.served.get(&target.name).copied().unwrap_or(0);
        let state = if target.available { "up" } else { "OUT" };
        lines.push(format!(
            "  {:<12} {:<4} breaker {:<9} health {:<9} served {served}",
            target.name, state, target.breaker, target.health
        ));
    }
    lines.join("\n")
}

/// Shows the view until `stop` turns true.
pub async fn show(view: View, sources: Sources, mut stop: watch::Receiver<bool>) {
    if view == View::Hidden {
        return;
    }
    let terminal = std::io::stdout().is_terminal();
    if !terminal && view == View::Bar {
        return;
    }
    let bar = if terminal {
        ProgressBar::with_draw_target(
            Some(sources.total.as_millis() as u64),
            ProgressDrawTarget::stdout(),
        )
    } else {
        ProgressBar::hidden()
    };
    let template = if view == View::Targets {
        "{bar:40.cyan/blue} {prefix}  {msg}"
    } else {
        "{bar:30.cyan/blue} {prefix}  {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    let every = if terminal {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    };
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        let elapsed = sources.started.elapsed().min(sources.total);
        let live = sources.recorder.live();
        let clock = format!(
            "{:>5.1}s/{:.0}s",
            elapsed.as_secs_f64(),
            sources.total.as_secs_f64()
        );
        let message = match view {
            View::Targets => format!("{}\n{}", summary(&live), targets(&sources, &live)),
            _ => summary(&live),
        };
        if terminal {
            bar.set_position(elapsed.as_millis() as u64);
            bar.set_prefix(clock);
            bar.set_message(message);
        } else {
            println!("[{clock}] {message}");
        }
    }
    bar.finish_and_clear();
}
