//! The machine the numbers come from: what it is, how busy it was before
//! and during each phase, and the function binaries on disk.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Function, env_usize, procfs};

/// Fewer busy cores than this before a phase counts as quiet.
const QUIET: f64 = 0.15;

pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
    pub wrk: String,
    pub date: String,
    pub revision: String,
    /// `uptime`'s load averages when the run started.
    pub load_average: String,
    /// Cores busy with other work just before each phase.
    pub background: Vec<(&'static str, f64)>,
    /// Cores other processes used during the cold-start and flow phases.
    pub during: Vec<(&'static str, f64)>,
}

impl Machine {
    /// Waits for a quiet machine before `phase` and records how busy it was.
    pub fn before(&mut self, phase: &'static str) {
        self.background.push((phase, wait_for_quiet(phase)));
    }

    pub fn during(&mut self, phase: &'static str, other_cores: f64) {
        self.during.push((phase, other_cores));
    }
}

/// The trimmed stdout of a command, or "unknown".
pub fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The commit measured, `-dirty` when src/, api/ or the manifest differ from it.
pub fn revision() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let head = command_line("git", &["-C", dir, "rev-parse", "--short", "HEAD"]);
    let dirty = Command::new("git")
        .args(["-C", dir, "status", "--porcelain", "--"])
        .args(["src", "api", "Cargo.toml", "Cargo.lock"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty { format!("{head}-dirty") } else { head }
}

/// Waits until other processes leave the machine alone (under 0.15 cores
/// busy over a second), at most `BENCH_QUIET_WAIT_SECS` (default 180);
/// returns the last figure, which the report shows.
pub fn wait_for_quiet(phase: &str) -> f64 {
    let limit = Duration::from_secs(env_usize("BENCH_QUIET_WAIT_SECS", 180) as u64);
    let start = Instant::now();
    loop {
        let cores = procfs::busy_cores();
        if cores < QUIET {
            return cores;
        }
        if start.elapsed() >= limit {
            eprintln!("{phase}: the machine is still busy ({cores:.2} cores); measuring anyway");
            return cores;
        }
        eprintln!("{phase}: waiting for a quiet machine ({cores:.2} cores busy with other work)");
    }
}

fn cpu_model(cpuinfo: &str) -> String {
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    if !cpuinfo.contains(" hypervisor") {
        return model;
    }
    match command_line("systemd-detect-virt", &["--vm"]).as_str() {
        "unknown" | "none" => format!("{model} (virtual machine)"),
        virt => format!("{model} (virtual machine, {virt})"),
    }
}

fn memory_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn wrk_version() -> String {
    Command::new("wrk")
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.split(" [").next().unwrap_or(l).to_owned())
        })
        .unwrap_or_else(|| "wrk".to_owned())
}

pub fn probe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    Machine {
        cpu: cpu_model(&cpuinfo),
        cores: procfs::cores() as usize,
        memory: memory_total(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        rustc: command_line("rustc", &["-V"]),
        wrk: wrk_version(),
        date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        revision: revision(),
        load_average: std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
        background: Vec::new(),
        during: Vec::new(),
    }
}

pub struct Size {
    pub function: &'static str,
    pub bytes: u64,
    pub stripped: bool,
}

pub fn sizes(functions: &[&Function]) -> Vec<Size> {
    functions
        .iter()
        .map(|f| {
            let path = f.exe.to_string_lossy();
            let file = command_line("file", &["-b", &path]);
            Size {
                function: f.name,
                bytes: std::fs::metadata(&f.exe).map(|m| m.len()).unwrap_or(0),
                stripped: file.contains(", stripped"),
            }
        })
        .collect()
}
