//! The app in a real browser: Chromium, driven by playwright-core
//! (`e2e/browser/run.mjs`), through sign-in, token validation, silent
//! refresh, sign-out across two tabs and a cancelled sign-in, against the
//! `dev` binary (what `cargo run` starts) and its built-in emulator.
//!
//! Needs only Node.js 20 or later with npm: `e2e/browser/node_modules` is
//! installed with `npm ci` when it is missing or out of date. The Chromium is
//! the one `CHROMIUM` names, else the system's (`chromium` on `PATH`, such as
//! Debian's), else the headless Chromium inside the npm package
//! `@sparticuz/chromium` (`e2e/browser/chromium.mjs` decides, and the run
//! prints which). Screenshots of every page land in `target/screenshots/`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{node_suite, spawn, url_in};

/// `cargo run`'s binary: the dev server.
static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::dev_server_bin);
/// The access token's lifetime: the browser waits this long (plus a second)
/// to see a silent refresh.
const ACCESS_TOKEN_TTL: &str = "3";
/// The whole browser run, Chromium's start included, takes about 10 s.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// Prints straight to stderr, past the test harness's output capture, so
/// that it shows as the test runs (as the child processes' output does).
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[test]
fn sign_in_refresh_sign_out_and_cancel_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let e2e = node_suite("browser", "playwright-core");

    let (dev, _) = spawn(
        &DEV,
        &[
            ("PORT", "0".into()),
            ("EMULATOR_PORT", "0".into()),
            ("EMULATOR_ACCESS_TOKEN_TTL", ACCESS_TOKEN_TTL.into()),
        ],
        "Press Ctrl+C to stop",
    );
    let app = url_in(
        dev.lines
            .iter()
            .find(|l| l.contains("Open http://"))
            .unwrap_or_else(|| panic!("no app URL in the banner: {:?}", dev.lines)),
    );
    let screenshots = root.join("target/screenshots");
    say(&format!(
        "browser test against {app}; screenshots in {}",
        screenshots.display()
    ));

    // The script's output goes straight to the terminal as it runs.
    let started = Instant::now();
    let mut node = Command::new("node")
        .arg(e2e.join("run.mjs"))
        .current_dir(&e2e)
        .env("APP_URL", &app)
        .env("SCREENSHOT_DIR", &screenshots)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    let status = loop {
        if let Some(status) = node.try_wait().expect("waiting for node") {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = node.kill();
            let _ = node.wait();
            panic!(
                "e2e/browser/run.mjs did not finish within {} s; killed",
                BROWSER_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(dev);
    assert!(
        status.success(),
        "the browser test failed ({status}); see the steps printed above and the screenshots in {}",
        screenshots.display()
    );
}
