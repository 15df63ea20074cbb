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

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The lock file of a suite.
const REQUIREMENTS: &str = "requirements.txt";
/// Beside the installed packages: the lock file they were installed from
/// and the interpreter they were installed for (its wheels hold compiled
/// modules of one Python version and platform); a directory whose stamp
/// differs is stale.
const STAMP: &str = "installed-from.txt";
/// The oldest Python the locked packages run on (their highest
/// `Requires-Python`: joserfc, uvicorn and pycparser ask for 3.11).
const MIN_PYTHON: (u32, u32) = (3, 11);
/// Variables of the user's own Python set-up that would turn the install
/// elsewhere or refuse it (`--user` with `--target`, a required virtual
/// environment), and the interpreter's own search path.
const PIP_VARS: [&str; 6] = [
    "PIP_USER",
    "PIP_REQUIRE_VIRTUALENV",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
];

/// Checks that Python 3.11 or later with pip is on `PATH` as `python3`
/// (else the test fails and says what to install) and that the packages
/// of `e2e/<suite>/requirements.txt` are installed for it under the
/// target directory (else installs them there, one test process at a
/// time). `package` is the suite's main package, named when Python is
/// missing. Returns the directory to put on `PYTHONPATH`.
pub fn python_suite(suite: &str, package: &str) -> PathBuf {
    let interpreter = interpreter(suite, package);
    let lock_path = crate::process::workspace_root()
        .join("e2e")
        .join(suite)
        .join(REQUIREMENTS);
    let lock = std::fs::read_to_string(&lock_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display()));
    let stamp = format!("# python3: {interpreter}\n{lock}");
    let parent = crate::redis::target_dir().join("e2e-python");
    std::fs::create_dir_all(&parent)
        .unwrap_or_else(|e| panic!("cannot make {}: {e}", parent.display()));
    // Test processes sharing the target directory take turns: one that
    // found the install stale must not replace it under another's
    // running provider, nor both install at once.
    let turn = File::create(parent.join(format!("{suite}.lock")))
        .unwrap_or_else(|e| panic!("cannot open the lock of {}: {e}", parent.display()));
    turn.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", parent.display()));
    let site = parent.join(suite);
    if std::fs::read_to_string(site.join(STAMP)).ok().as_deref() == Some(stamp.as_str()) {
        return site;
    }
    // Straight to stderr, past the harness's capture, like pip's own output.
    let _ = writeln!(
        std::io::stderr(),
        "{} is missing or out of date: installing e2e/{suite}/{REQUIREMENTS} from PyPI there",
        site.display()
    );
    // A directory of this install's own, moved into place when whole: a
    // run cut off mid-install leaves no directory that looks installed.
    let partial = parent.join(crate::process::unique_name(&format!("{suite}.partial")));
    if let Err(why) = install(&lock_path, &partial) {
        let _ = std::fs::remove_dir_all(&partial);
        panic!(
            "`python3 -m pip install --target {} -r e2e/{suite}/{REQUIREMENTS}` failed \
             ({why}): is PyPI reachable, and pip there (`apt-get install python3-pip`)?",
            partial.display()
        );
    }
    std::fs::write(partial.join(STAMP), &stamp)
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

/// `python3`'s version, bytecode tag and platform (`3.11 cpython-311
/// linux-x86_64`), after checking it is recent enough.
fn interpreter(suite: &str, package: &str) -> String {
    let described = crate::process::output_of(Command::new("python3").args([
        "-c",
        "import sys, sysconfig; \
         print('%d.%d' % sys.version_info[:2], sys.implementation.cache_tag, \
         sysconfig.get_platform())",
    ]))
    .unwrap_or_else(|| {
        panic!(
            "python3 not found: e2e/{suite} ({package}) needs Python 3.11 or later with pip \
                 (`apt-get install python3 python3-pip`, or https://www.python.org)"
        )
    });
    let version: Option<(u32, u32)> = described
        .split(' ')
        .next()
        .and_then(|v| v.split_once('.'))
        .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
    assert!(
        version.is_some_and(|v| v >= MIN_PYTHON),
        "python3 ({described}) is too old for e2e/{suite}: install Python 3.11 or later"
    );
    described
}

/// `pip install` of the lock file into `to`; why not, when it fails.
fn install(lock_path: &Path, to: &Path) -> Result<(), String> {
    let mut command = Command::new("python3");
    command
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
        .stdin(Stdio::null());
    for var in PIP_VARS {
        command.env_remove(var);
    }
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(status.to_string()),
        Err(e) => Err(format!("cannot run it: {e}")),
    }
}
