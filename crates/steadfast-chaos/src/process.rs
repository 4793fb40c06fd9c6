//! CPU time and peak memory of this process, from `/proc/self/stat` and
//! `/proc/self/status` (Linux; elsewhere nothing is reported).

use std::time::Duration;

use serde::Serialize;

/// Clock ticks per second of `/proc/self/stat`'s times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time used by this process so far.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15, so 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND))
}

/// The peak resident memory (`VmHWM`) in bytes.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// What the process used during a run.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// CPU time as a share of one core over the run (1.0 = one core busy).
    pub cpu_cores: f64,
    /// Peak resident memory in MiB.
    pub peak_memory_mib: f64,
    /// What the figures cover.
    pub note: String,
}

/// Usage between `cpu_before` and now, over `wall` time.
pub fn usage(cpu_before: Option<Duration>, wall: Duration) -> Option<Usage> {
    let used = cpu_time()?.checked_sub(cpu_before?)?;
    Some(Usage {
        cpu_cores: used.as_secs_f64() / wall.as_secs_f64().max(1e-3),
        peak_memory_mib: peak_memory()? as f64 / (1024.0 * 1024.0),
        note: "the whole process: gateway, simulated providers and traffic generator".into(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        if cfg!(target_os = "linux") {
            assert!(super::cpu_time().is_some());
            assert!(super::peak_memory().is_some_and(|bytes| bytes > 0));
        }
    }
}
