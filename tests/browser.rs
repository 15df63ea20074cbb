//! The app in a real browser: Chromium, driven by playwright-core
//! (`e2e/browser/run.mjs`), through sign-in, token validation, silent
//! refresh, a display name chosen to break the pages, sign-out across two
//! tabs, sign-outs that Vercel answers with an error or cannot honour, and
//! a cancelled sign-in, against the dev
//! server's stack (what `cargo run` starts: every route and its built-in
//! emulator), run in this process so that the test can make the emulator
//! fail when the script asks.
//!
//! The script asks by printing `@emulator <fault>` and waits for `ok` on
//! its stdin; every other line it prints is passed through.
//!
//! Needs only Node.js 20 or later with npm: `e2e/browser/node_modules` is
//! installed with `npm ci` when it is missing or out of date. The Chromium is
//! the one `CHROMIUM` names, else the system's (`chromium` on `PATH`, such as
//! Debian's), else the headless Chromium inside the npm package
//! `@sparticuz/chromium` (`e2e/browser/chromium.mjs` decides, and the run
//! prints which). Screenshots of every page land in `target/screenshots/`.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use dev_server::{DevOptions, start};
use sign_in_with_vercel_emulator::Emulator;
use testkit::node_suite;

/// The access token's lifetime: the browser waits this long (plus a second)
/// to see a silent refresh.
const ACCESS_TOKEN_TTL: &str = "3";
/// The whole browser run, Chromium's start included, takes about 15 s.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// Prints straight to stderr, past the test harness's output capture, so
/// that it shows as the test runs (as the child processes' output does).
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Sets the fault the script names (`@emulator <fault>`), and answers `ok`
/// once it is in force; an unknown fault is answered with what went wrong,
/// which fails the script's step.
fn set_fault(emulator: &Emulator, fault: &str) -> String {
    match fault {
        // Revocation answers 503: a sign-out that is worth a retry.
        "revocation-fails" => emulator.update_faults(|f| f.revocation_status = Some(503)),
        // Neither token can be revoked (RFC 7009 §2.2.1
        // `unsupported_token_type`): nothing to retry.
        "revocation-unsupported" => emulator.update_faults(|f| {
            f.access_tokens_not_revocable = true;
            f.refresh_tokens_not_revocable = true;
        }),
        "revocation-works" => emulator.update_faults(|f| {
            f.revocation_status = None;
            f.access_tokens_not_revocable = false;
            f.refresh_tokens_not_revocable = false;
        }),
        // Vercel's REST API answers 503: the token's metadata cannot be had.
        "rest-api-fails" => emulator.update_faults(|f| f.rest_status = Some(503)),
        "rest-api-works" => emulator.update_faults(|f| f.rest_status = None),
        other => return format!("unknown fault {other:?}"),
    }
    "ok".to_owned()
}

/// Passes the script's output through, and answers its `@emulator` lines
/// on its stdin, until it closes its stdout.
fn serve_script(output: impl std::io::Read, mut input: ChildStdin, emulator: &Emulator) {
    for line in BufReader::new(output).lines() {
        let Ok(line) = line else { break };
        match line.strip_prefix("@emulator ") {
            Some(fault) => {
                let answer = set_fault(emulator, fault.trim());
                say(&format!("  (emulator: {fault}: {answer})"));
                if writeln!(input, "{answer}").is_err() {
                    break;
                }
            }
            None => say(&line),
        }
    }
}

#[test]
fn sign_in_refresh_sign_out_and_cancel_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let e2e = node_suite("browser", "playwright-core");

    // `cargo run`'s stack with no client ID configured: the emulator is
    // the provider. Free ports, and only these variables (not the
    // developer's `.env.local`).
    let vars: HashMap<String, String> = [
        ("PORT", "0"),
        ("EMULATOR_PORT", "0"),
        ("EMULATOR_API_PORT", "0"),
        ("EMULATOR_MARKETPLACE_PORT", "0"),
        ("EMULATOR_ACCESS_TOKEN_TTL", ACCESS_TOKEN_TTL),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = DevOptions::from_vars(vars, root).expect("the dev server's options");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the dev server");
    let stack = runtime
        .block_on(start(options))
        .unwrap_or_else(|e| panic!("the dev server did not start: {e}"));
    let emulator = stack
        .emulator
        .as_ref()
        .expect("with no client ID configured, the emulator is the provider")
        .emulator()
        .clone();
    let app = stack.app_url.clone();
    let screenshots = testkit::target_dir().join("screenshots");
    say(&format!(
        "browser test against {app}; screenshots in {}",
        screenshots.display()
    ));

    let started = Instant::now();
    let mut node = Command::new("node")
        .arg(e2e.join("run.mjs"))
        .current_dir(&e2e)
        .env("APP_URL", &app)
        .env("SCREENSHOT_DIR", &screenshots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    let (output, input) = (node.stdout.take(), node.stdin.take());
    let script = std::thread::spawn({
        let emulator = emulator.clone();
        move || serve_script(output.expect("piped"), input.expect("piped"), &emulator)
    });
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
    let _ = script.join();
    drop(stack);
    assert!(
        status.success(),
        "the browser test failed ({status}); see the steps printed above and the screenshots in {}",
        screenshots.display()
    );
}
