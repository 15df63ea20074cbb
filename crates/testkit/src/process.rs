//! Child processes (the function binaries, the dev server, the emulator)
//! with a clean environment, killed when dropped, on free loopback ports.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Variables a developer's shell or `.env` might carry into a child and
/// that would change what it does: the app's configuration, the local
/// stack's ports and the emulator's settings, the Vercel runtime's own.
pub const CLEARED_VARS: [&str; 23] = [
    "VERCEL_APP_CLIENT_ID",
    "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID",
    "VERCEL_APP_CLIENT_SECRET",
    "VERCEL_APP_TOKEN_AUTH",
    "VERCEL_OAUTH_ISSUER",
    "APP_URL",
    "AUTH_SECRET",
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
    "VERCEL_ENV",
    "RUST_LOG",
];

/// A command for `program` without any of [`CLEARED_VARS`], with stdin,
/// stdout and stderr set to null (set them again to read its output).
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for var in CLEARED_VARS {
        command.env_remove(var);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A free loopback port: bound, then released for the child to bind.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A child process, killed (SIGKILL) and reaped on drop, so that a failed
/// assertion leaves nothing running.
pub struct Process {
    child: Child,
    name: String,
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
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "-p", package, "--bin", bin]);
    if release {
        command.arg("--release");
    }
    let status = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {bin}: {e}"));
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    let path = profile_dir.join(bin);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}
