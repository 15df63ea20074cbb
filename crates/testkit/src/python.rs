//! The PyPI suites under `e2e/` (another OpenID Provider): Python checked,
//! their packages installed from the suite's `requirements.txt` when
//! missing or stale.
//!
//! The packages go under the build's target directory
//! (`target/e2e-python/<suite>/`), never system-wide or into the user's
//! own Python: `pip install --target` with `--no-deps` and
//! `--require-hashes`, so what runs is exactly what the lock file names,
//! every file checked against its SHA-256, and only wheels
//! (`--only-binary=:all:`: nothing is compiled on the machine).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The lock file of a suite, and a copy of it beside the packages it was
/// installed from: a directory whose copy differs is stale.
const REQUIREMENTS: &str = "requirements.txt";

/// Checks that Python 3.9 or later with pip is on `PATH` as `python3`
/// (else the test fails and says what to install) and that the packages
/// of `e2e/<suite>/requirements.txt` are installed under the target
/// directory (else installs them there). `package` is the suite's main
/// package, named when Python is missing. Returns the directory to put on
/// `PYTHONPATH`.
pub fn python_suite(suite: &str, package: &str) -> PathBuf {
    let version = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| {
            panic!(
                "python3 not found: e2e/{suite} ({package}) needs Python 3.9 or later with pip \
                 (`apt-get install python3 python3-pip`, or https://www.python.org)"
            )
        });
    let minor: Option<(u32, u32)> = version
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
    assert!(
        minor.is_some_and(|v| v >= (3, 9)),
        "python3 {version} is too old for e2e/{suite}: install Python 3.9 or later"
    );
    let lock_path = crate::process::workspace_root()
        .join("e2e")
        .join(suite)
        .join(REQUIREMENTS);
    let lock = std::fs::read(&lock_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display()));
    let parent = crate::redis::target_dir().join("e2e-python");
    let site = parent.join(suite);
    if std::fs::read(site.join(REQUIREMENTS)).ok().as_deref() == Some(&lock[..]) {
        return site;
    }
    std::fs::create_dir_all(&parent)
        .unwrap_or_else(|e| panic!("cannot make {}: {e}", parent.display()));
    // Straight to stderr, past the harness's capture, like pip's own output.
    let _ = writeln!(
        std::io::stderr(),
        "{} is missing or out of date: installing e2e/{suite}/{REQUIREMENTS} from PyPI there",
        site.display()
    );
    // A directory of this install's own, moved into place when whole: a
    // run cut off mid-install leaves no directory that looks installed.
    let partial = parent.join(crate::process::unique_name(&format!("{suite}.partial")));
    install(&lock_path, &partial, suite);
    std::fs::write(partial.join(REQUIREMENTS), &lock)
        .unwrap_or_else(|e| panic!("cannot write into {}: {e}", partial.display()));
    if site.exists() {
        std::fs::remove_dir_all(&site)
            .unwrap_or_else(|e| panic!("cannot remove the stale {}: {e}", site.display()));
    }
    std::fs::rename(&partial, &site).unwrap_or_else(|e| {
        panic!(
            "cannot move {} to {}: {e}",
            partial.display(),
            site.display()
        )
    });
    site
}

/// `pip install` of the lock file into `to`.
fn install(lock_path: &Path, to: &Path, suite: &str) {
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--no-input"])
        .args(["--disable-pip-version-check", "--no-warn-script-location"])
        .args(["--no-deps", "--require-hashes", "--only-binary=:all:"])
        .arg("--target")
        .arg(to)
        .arg("--requirement")
        .arg(lock_path)
        // pip's warning that it runs as root is no concern of a directory
        // under target/.
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run python3 -m pip ({e}): e2e/{suite} needs pip"));
    assert!(
        status.success(),
        "`python3 -m pip install --target {} -r e2e/{suite}/{REQUIREMENTS}` failed ({status}): \
         is PyPI reachable, and pip there (`apt-get install python3-pip`)?",
        to.display()
    );
}
