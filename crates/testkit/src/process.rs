//! Child processes (the function binaries, the dev server, the emulator)
//! with a clean environment, killed when dropped, on free loopback ports.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::redis::target_dir;

/// Variables a developer's shell or `.env` might carry into a child and
/// that would change what it does, beside the app's configuration
/// ([`sign_in_with_vercel::ENV_VARIABLES`], cleared too): the local
/// stack's ports and the emulator's settings, the Vercel runtime's own.
pub const CLEARED_VARS: [&str; 15] = [
    "PORT",
    "EMULATOR_PORT",
    "EMULATOR_API_PORT",
    "EMULATOR_MARKETPLACE_PORT",
    "EMULATOR_CONFIG",
    "EMULATOR_REFRESH_TOKEN_REUSE",
    "EMULATOR_ACCESS_TOKEN_TTL",
    "EMULATOR_REFRESH_TOKEN_TTL",
    "EMULATOR_ID_TOKEN_TTL",
    "EMULATOR_CODE_TTL",
    "EMULATOR_AUTHORIZATION_RESPONSE_ISS",
    "VERCEL_IPC_PATH",
    "VERCEL_DEV_PORT",
    "VERCEL_DEV",
    "RUST_LOG",
];

/// A command for `program` without any of [`CLEARED_VARS`] and the app's
/// configuration, with stdin,
/// stdout and stderr set to null (set them again to read its output).
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for var in CLEARED_VARS
        .into_iter()
        .chain(sign_in_with_vercel::ENV_VARIABLES.iter().copied())
    {
        command.env_remove(var);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A free loopback port for a child to bind, which no other caller of
/// this function (in this process or another) and no outgoing connection
/// can take meanwhile.
///
/// A port the kernel hands out for `127.0.0.1:0` is released before the
/// child binds it, and the kernel may hand it out again in that window: to
/// another test's `free_port`, or as the local end of any connection (the
/// tests make thousands). A child that then fails to bind leaves its
/// requests to whatever process holds the port: another test's instance,
/// with another store and provider. So ports come from below the kernel's
/// ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), which it
/// never hands out on its own, each claimed by an exclusive lock on a file
/// named after it, held until this process exits (a killed run's locks go
/// with it), and checked free by a bind.
pub fn free_port() -> u16 {
    static CLAIMED: Mutex<Vec<File>> = Mutex::new(Vec::new());
    let Some((first, end)) = unclaimed_range() else {
        // No Linux `/proc` (macOS): a port the kernel picks, released for
        // the child, with the window this function otherwise closes.
        return TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
    };
    let dir = std::env::temp_dir().join("testkit-ports");
    lock_dir(&dir);
    let span = u32::from(end - first);
    // Start where another process is unlikely to be, and walk the range.
    let start = std::process::id().wrapping_mul(7919) ^ nanos();
    // Held while claiming: threads of this process never race each other,
    // even where `flock` is emulated per process (NFS).
    let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
    for step in 0..span {
        let port = first + u16::try_from((start.wrapping_add(step)) % span).expect("in range");
        // Another user's lock file can be opened for reading, which is all
        // `flock` needs; one that cannot be opened at all is skipped.
        let path = dir.join(format!("{port}.lock"));
        let Ok(lock) = File::open(&path).or_else(|_| File::create(&path)) else {
            continue;
        };
        if lock.try_lock().is_ok() && bindable(port) {
            claimed.push(lock);
            return port;
        }
    }
    panic!("no free loopback port in {first}..{end}");
}

/// Whether nothing listens on `port` on either loopback (the dev server
/// binds both); an IPv6 loopback this machine lacks does not count.
fn bindable(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
        && match TcpListener::bind(("::1", port)) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::AddrNotAvailable,
        }
}

/// The directory of the port locks, writable by every user (with the
/// sticky bit, as `/tmp` is), so that tests run once as another user do
/// not lock everyone else out of it.
fn lock_dir(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if std::fs::create_dir(dir).is_ok() {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777));
    }
    assert!(
        dir.is_dir(),
        "no directory for the port locks at {}",
        dir.display()
    );
}

/// The ports that [`free_port`] hands out, which the kernel never hands
/// out on its own: from 10000 up to the start of its ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 by default), or,
/// where that range starts too low to leave room, above its end. `None`
/// where there is no such file (not Linux).
fn unclaimed_range() -> Option<(u16, u16)> {
    let path = "/proc/sys/net/ipv4/ip_local_port_range";
    if !Path::new(path).exists() {
        return None;
    }
    let range = std::fs::read_to_string(path).expect("the kernel's ephemeral port range");
    let mut bounds = range.split_whitespace().map(|n| n.parse::<u16>().ok());
    let (Some(Some(low)), Some(Some(high))) = (bounds.next(), bounds.next()) else {
        panic!("the kernel's ephemeral port range is unreadable: {range:?}");
    };
    if low > 12_000 {
        Some((10_000, low))
    } else if high < 63_000 {
        Some((high + 1, u16::MAX))
    } else {
        panic!("the kernel's ephemeral ports ({low}-{high}) leave no room for the tests' own")
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// A child process, killed (SIGKILL) and reaped on drop, so that a failed
/// assertion leaves nothing running.
pub struct Process {
    child: Child,
    name: String,
    /// What it printed on stdout until it was ready ([`spawn`]); empty
    /// for [`Process::spawn`].
    pub lines: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `command`; `name` is how panics refer to it.
    pub fn spawn(command: &mut Command, name: &str) -> Self {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            child,
            name: name.to_owned(),
            lines: Vec::new(),
        }
    }

    /// Its process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, e.g. to take its stdout.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Its exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Connects to `127.0.0.1:port` as soon as the child listens: spins on
    /// `connect` without sleeping (a cold start is measured through it),
    /// and panics if the child exits or `timeout` passes first. The stream
    /// has `TCP_NODELAY` and a 20 s read timeout.
    pub fn connect(&mut self, port: u16, timeout: Duration) -> TcpStream {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        let mut tries = 0u32;
        loop {
            match TcpStream::connect(addr) {
                Ok(stream) => {
                    stream.set_nodelay(true).expect("TCP_NODELAY");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(20)))
                        .expect("read timeout");
                    return stream;
                }
                Err(e) => {
                    tries += 1;
                    if tries.is_multiple_of(256) {
                        if let Some(status) = self.exited() {
                            panic!("{} exited before listening: {status}", self.name);
                        }
                        if start.elapsed() > timeout {
                            panic!(
                                "{} did not listen on {addr} within {timeout:?}: {e}",
                                self.name
                            );
                        }
                    }
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// A file in testkit's private directory for a child's output (an
/// OpenID Provider's log): shown on the test's stderr if the test fails,
/// from the child's start on (one that never gets ready says why), and
/// removed when dropped.
pub struct ChildLog {
    path: PathBuf,
    name: String,
}

impl ChildLog {
    /// A new, empty log for the child `name`.
    pub fn new(name: &str) -> Self {
        let path = private_dir().join(format!("{}.log", unique_name(name)));
        File::create(&path).unwrap_or_else(|e| panic!("cannot make {}: {e}", path.display()));
        Self {
            path,
            name: name.to_owned(),
        }
    }

    /// A handle to give the child as its stdout or stderr; each appends,
    /// so both streams can share the file.
    pub fn file(&self) -> File {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.path.display()))
    }

    /// What the child has written so far.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.path.display()))
    }
}

impl Drop for ChildLog {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            eprintln!("--- {} output ---\n{text}", self.name);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What `command` prints on stdout, trimmed, when it runs and succeeds
/// (a tool's version); `None` when it cannot run or fails.
pub(crate) fn output_of(command: &mut Command) -> Option<String> {
    command
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// How long [`spawn`] waits for the ready line: a child that starts in a
/// second alone can take many under a full test run on two cores (a
/// Node.js provider once took more than 30 s there); one that never gets
/// ready still fails, a minute later.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// testkit's own directory, `<target>/testkit` under the build's target
/// directory ([`target_dir`]), readable by its owner only: the children's
/// working directory ([`child_dir`]), the emulator's configuration files
/// and the Redis servers' directories are made in it. Never the shared
/// temporary directory, where anyone could leave what a child would read.
/// Made once per process; tests running at once may make it at once.
pub fn private_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("testkit");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .unwrap_or_else(|e| panic!("cannot protect {}: {e}", dir.display()));
        }
        dir
    })
}

/// The working directory of the children [`spawn`] starts:
/// `<target>/testkit/cwd`, holding an empty `vercel.json` (`{}`) and no
/// `.env` or `.env.local`.
///
/// The dev server reads `.env` and `.env.local` from the nearest directory
/// up from its working directory that holds a `vercel.json`, else from its
/// working directory. In the shared temporary directory that would be
/// whatever anyone put in `/tmp` (or a `/tmp/vercel.json` beside it); a
/// directory under the target directory without the marker would walk up
/// to the repository's root and read the developer's own `.env.local`.
/// The marker makes this directory itself the project, so the walk stops
/// here and finds no file. Made once per process; tests running at once
/// may make it at once (the marker is written under a name of this
/// process's own, then renamed into place).
pub fn child_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = private_dir().join("cwd");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
        for file in [".env", ".env.local"] {
            match std::fs::remove_file(dir.join(file)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    panic!("cannot remove {file} from {}: {e}", dir.display())
                }
                _ => {}
            }
        }
        let marker = dir.join("vercel.json");
        if std::fs::read(&marker).ok().as_deref() != Some(b"{}".as_slice()) {
            let partial = dir.join(format!("vercel.json.{}.partial", std::process::id()));
            std::fs::write(&partial, "{}")
                .and_then(|()| std::fs::rename(&partial, &marker))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
        }
        dir
    })
}

/// A name no other file of testkit's takes, in this process or another:
/// `<prefix>-<pid>-<count>-<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{count}-{}", std::process::id(), nanos())
}

/// Starts `program` with a clean environment plus `env`, in [`child_dir`]
/// (so that no `.env` or `.env.local` is read, neither a developer's nor
/// one left in the temporary directory), and waits up to a minute for a stdout
/// line containing `ready`; returns the process, with the lines it printed
/// so far, and that line. The rest of its stdout is drained in the
/// background; its stderr is the test's.
pub fn spawn(program: &str, env: &[(&str, String)], ready: &str) -> (Process, String) {
    let mut command = clean_command(program);
    command.stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    command.current_dir(child_dir());
    spawn_command(&mut command, program, ready)
}

/// Starts `command` (`name` in messages) with its stdout piped, and waits
/// up to a minute for a stdout line containing `ready`: [`spawn`] for a
/// command built by the caller (e.g. on [`clean_command`]).
pub fn spawn_command(command: &mut Command, name: &str, ready: &str) -> (Process, String) {
    command.stdout(Stdio::piped());
    let mut process = Process::spawn(command, name);
    let stdout = process
        .child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("{name}: no stdout"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                process.lines.push(line.clone());
                if line.contains(ready) {
                    std::thread::spawn(move || while rx.recv().is_ok() {});
                    return (process, line);
                }
            }
            Err(_) => panic!(
                "{name} did not print {ready:?} within {READY_WITHIN:?} ({}); it printed {:?}",
                process
                    .exited()
                    .map_or("still running".to_owned(), |s| format!("exited: {s}")),
                process.lines
            ),
        }
    }
}

/// The standalone emulator (`program`, see [`emulator_bin`]) serving the
/// clients of `config` on free ports, with `env` besides: the process, its
/// issuer origin and its API origin. The configuration (with the clients'
/// secrets) goes to `EMULATOR_CONFIG` through a file of its own in
/// testkit's private directory, readable by its owner only, removed once
/// the emulator has read it.
pub fn spawn_emulator(
    program: &str,
    config: &serde_json::Value,
    env: &[(&str, String)],
) -> (Process, String, String) {
    let path = private_dir().join(format!("{}.json", unique_name("emulator")));
    write_private(&path, config.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    let mut all = vec![
        ("EMULATOR_PORT", "0".to_owned()),
        ("EMULATOR_API_PORT", "0".to_owned()),
        ("EMULATOR_MARKETPLACE_PORT", "0".to_owned()),
        ("EMULATOR_CONFIG", path.display().to_string()),
    ];
    all.extend(env.iter().cloned());
    let (process, api_line) = spawn(program, &all, "API (");
    // Read once at its start, which `spawn` waited for.
    let _ = std::fs::remove_file(&path);
    let issuer = url_in(
        process
            .lines
            .iter()
            .find(|l| l.contains("issuer http://"))
            .unwrap_or_else(|| panic!("the emulator names no issuer: {:?}", process.lines)),
    );
    let api = url_in(&api_line);
    (process, issuer, api)
}

/// Writes `bytes` to a new file at `path` (one already there is an
/// error), readable and writable by its owner only on unix.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// The first `http://…` URL in `line`.
pub fn url_in(line: &str) -> String {
    let start = line
        .find("http://")
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    line[start..]
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .next()
        .unwrap_or_default()
        .trim_end_matches(['.', ')'])
        .to_owned()
}

/// The workspace's root directory (the app's package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|e| panic!("the workspace root: {e}"))
}

/// The dev server's binary (`cargo run`), built if need be.
pub fn dev_server_bin() -> String {
    workspace_bin("dev-server", "dev").display().to_string()
}

/// The standalone emulator's binary, built if need be.
pub fn emulator_bin() -> String {
    workspace_bin(
        "sign-in-with-vercel-emulator",
        "sign-in-with-vercel-emulator",
    )
    .display()
    .to_string()
}

/// The path of binary `bin` of workspace package `package`, built now
/// (`cargo build -p <package> --bin <bin>`, in the profile of the running
/// test) if it is missing or stale. For the binaries of other crates of
/// the workspace, which Cargo names only to that crate's own tests.
pub fn workspace_bin(package: &str, bin: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test>: the binary goes to target/<profile>.
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("a test binary under target/<profile>/deps");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut args = vec!["-p", package, "--bin", bin];
    if release {
        args.push("--release");
    }
    cargo_build(&args);
    let path = profile_dir.join(bin);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Runs `cargo build --quiet <args>` at the workspace's root (the cargo
/// running the test, else `cargo` on `PATH`); panics if it fails.
pub fn cargo_build(args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet"])
        .args(args)
        .current_dir(workspace_root())
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo build {args:?}: {e}"));
    assert!(status.success(), "cargo build {args:?} failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child runs in testkit's own directory, which is a Vercel project
    /// of its own for the dev server's look-up of `.env` files (the
    /// nearest directory up with a `vercel.json`, else the working
    /// directory) and holds none: not in the temporary directory, where
    /// anyone's `/tmp/.env.local` would be read, nor under the repository
    /// without a marker, where the walk would reach the developer's own.
    #[test]
    fn children_run_where_no_env_file_is_read() {
        let (_pwd, line) = spawn("pwd", &[], "/");
        let cwd = PathBuf::from(line);
        assert_eq!(cwd, child_dir());
        assert!(cwd.starts_with(target_dir()), "{}", cwd.display());
        let project = cwd.ancestors().find(|d| d.join("vercel.json").is_file());
        assert_eq!(project, Some(cwd.as_path()));
        assert_eq!(
            std::fs::read_to_string(cwd.join("vercel.json")).unwrap(),
            "{}"
        );
        for file in [".env", ".env.local"] {
            assert!(!cwd.join(file).exists(), "{file}");
        }
    }

    /// The emulator's configuration (its clients' secrets) is written to a
    /// new file readable by its owner only, in testkit's own directory.
    #[cfg(unix)]
    #[test]
    fn configuration_files_are_new_and_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let name = unique_name("emulator");
        assert_ne!(name, unique_name("emulator"));
        let path = private_dir().join(format!("{name}.json"));
        write_private(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(write_private(&path, b"{}").is_err(), "never an old file");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(private_dir(), target_dir().join("testkit"));
    }

    /// What the standalone emulator is told to read is in testkit's own
    /// directory, not the shared temporary one.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_emulator_reads_its_configuration_from_the_private_directory() {
        let config = serde_json::json!({ "clients": [] });
        let (emulator, _, _) = spawn_emulator(&emulator_bin(), &config, &[]);
        let environ = std::fs::read(format!("/proc/{}/environ", emulator.pid())).unwrap();
        let path = environ
            .split(|b| *b == 0)
            .find_map(|v| v.strip_prefix(b"EMULATOR_CONFIG="))
            .map(|p| PathBuf::from(String::from_utf8(p.to_vec()).unwrap()))
            .expect("EMULATOR_CONFIG");
        assert_eq!(path.parent(), Some(private_dir()));
    }
}
