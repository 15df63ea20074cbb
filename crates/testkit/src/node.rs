//! The npm suites under `e2e/` (a real browser, another OpenID provider):
//! Node.js checked, their packages installed when missing or stale.

use std::io::Write as _;
use std::process::Command;

/// Checks that Node.js 20 or later is on `PATH` (else the test fails and
/// says what to install) and that `e2e/<suite>/node_modules` holds every
/// package its lock file names, at the locked version (else runs `npm ci`
/// there: a fresh clone, or a lock file that has moved on since the last
/// install). `package` is the suite's main package, named when node is missing.
/// Returns `e2e/<suite>`.
pub fn node_suite(suite: &str, package: &str) -> std::path::PathBuf {
    let version =
        crate::process::output_of(Command::new("node").arg("--version")).unwrap_or_else(|| {
            panic!(
                "node not found: e2e/{suite} ({package}) needs Node.js 20 or later with npm \
                 (`apt-get install nodejs npm`, or https://nodejs.org)"
            )
        });
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "node {version} is too old for e2e/{suite}: install Node.js 20 or later"
    );
    let dir = crate::process::workspace_root().join("e2e").join(suite);
    if let Some(stale) = stale_npm_package(&dir) {
        // Straight to stderr, past the harness's capture, like npm's own output.
        let _ = writeln!(
            std::io::stderr(),
            "e2e/{suite}/node_modules is missing or out of date ({stale} not installed): \
             running `npm ci --prefix e2e/{suite}`"
        );
        let status = Command::new("npm")
            .arg("ci")
            .arg("--prefix")
            .arg(&dir)
            .args(["--no-audit", "--no-fund"])
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm ({e}): e2e/{suite} needs npm"));
        assert!(
            status.success(),
            "`npm ci --prefix e2e/{suite}` failed ({status})"
        );
        if let Some(stale) = stale_npm_package(&dir) {
            panic!("after `npm ci --prefix e2e/{suite}`, node_modules still lacks {stale}");
        }
    }
    dir
}

/// The first package of `dir/package-lock.json` that `dir/node_modules` does
/// not hold at the locked version, as `name@version`; `None` when all are there.
fn stale_npm_package(dir: &std::path::Path) -> Option<String> {
    let lock_path = dir.join("package-lock.json");
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&lock_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", lock_path.display()));
    let packages = lock["packages"]
        .as_object()
        .unwrap_or_else(|| panic!("{} has no \"packages\"", lock_path.display()));
    for (path, entry) in packages {
        // The root entry, and platform packages npm leaves out elsewhere.
        if path.is_empty() || entry["optional"].as_bool() == Some(true) {
            continue;
        }
        let Some(locked) = entry["version"].as_str() else {
            continue;
        };
        let installed = std::fs::read_to_string(dir.join(path).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|manifest| manifest["version"].as_str().map(str::to_owned));
        if installed.as_deref() != Some(locked) {
            let name = path.rsplit("node_modules/").next().unwrap_or(path);
            return Some(format!("{name}@{locked}"));
        }
    }
    None
}
