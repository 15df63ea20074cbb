//! The functions as processes, and what `/proc` says about them and the
//! machine: resident memory, CPU time, and how busy everything else is.

use std::process::Command;
use std::time::Duration;

use testkit::{Process, clean_command};

use crate::Function;

/// Starts `function` as Vercel's local runtime does (`VERCEL_DEV_PORT`, no
/// `VERCEL_IPC_PATH`), with only `env` set of the app's variables.
pub fn spawn(function: &Function, port: u16, env: &[(&'static str, String)]) -> Process {
    let mut command = clean_command(&function.exe);
    command
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("VERCEL_DEV_PORT", port.to_string());
    Process::spawn(&mut command, function.name)
}

/// `VmRSS`, `VmHWM`… of a live process, in KiB.
pub fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} for pid {pid}"))
}

/// The numeric fields of `/proc/<pid>/stat` after the command name, so
/// that index 11 is utime, 12 stime, 13 cutime, 14 cstime.
fn stat_fields(pid: &str) -> Vec<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    rest.split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect()
}

fn field(fields: &[u64], i: usize) -> u64 {
    fields.get(i).copied().unwrap_or(0)
}

/// utime + stime of a live process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let f = stat_fields(&pid.to_string());
    field(&f, 11) + field(&f, 12)
}

/// CPU ticks of this process and its reaped children.
fn self_ticks() -> u64 {
    let f = stat_fields("self");
    (11..=14).map(|i| field(&f, i)).sum()
}

/// (busy, total) jiffies of the whole machine.
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or("");
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// Cores busy over the ticks between two machine samples.
pub fn busy(before: (u64, u64), after: (u64, u64)) -> f64 {
    let total = after.1.saturating_sub(before.1).max(1) as f64;
    after.0.saturating_sub(before.0) as f64 / total * cores()
}

pub fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Cores busy over one second, whoever uses them.
pub fn busy_cores() -> f64 {
    let before = machine_ticks();
    std::thread::sleep(Duration::from_secs(1));
    busy(before, machine_ticks())
}

/// The machine's CPU use from now on, less this process, its reaped
/// children and the live processes `pids`: what other work took.
pub struct Usage {
    machine: (u64, u64),
    own: u64,
    pids: Vec<u32>,
}

impl Usage {
    pub fn start(pids: &[u32]) -> Self {
        Self {
            machine: machine_ticks(),
            own: self_ticks() + pids.iter().map(|p| cpu_ticks(*p)).sum::<u64>(),
            pids: pids.to_vec(),
        }
    }

    /// Cores other processes used since [`Usage::start`].
    pub fn other_cores(&self) -> f64 {
        let machine = machine_ticks();
        let own = self_ticks() + self.pids.iter().map(|p| cpu_ticks(*p)).sum::<u64>();
        let total = machine.1.saturating_sub(self.machine.1).max(1) as f64;
        let busy = machine.0.saturating_sub(self.machine.0) as f64;
        ((busy - own.saturating_sub(self.own) as f64) / total * cores()).max(0.0)
    }
}
