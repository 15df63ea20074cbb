//! The program's command line, run as built: `--help` and `--version`
//! answer and exit; anything else is refused with the usage.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = env!("CARGO_BIN_EXE_sign-in-with-vercel-emulator");

/// Runs the program with `args` on free ports; it must exit within 10 s
/// (one that starts serving instead is killed, and the test fails).
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(PROGRAM)
        .args(args)
        .env_remove("EMULATOR_CONFIG")
        .env("EMULATOR_PORT", "0")
        .env("EMULATOR_API_PORT", "0")
        .env("EMULATOR_MARKETPLACE_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {PROGRAM}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} did not exit (it printed {:?})",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_prints_the_settings_and_exits_0() {
    for flag in ["--help", "-h"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}: {}", stderr(&output));
        let help = stdout(&output);
        assert!(
            help.starts_with("Usage: sign-in-with-vercel-emulator"),
            "{help}"
        );
        for variable in [
            "EMULATOR_PORT",
            "EMULATOR_API_PORT",
            "EMULATOR_MARKETPLACE_PORT",
            "EMULATOR_CONFIG",
            "EMULATOR_ACCESS_TOKEN_TTL",
            "EMULATOR_REFRESH_TOKEN_TTL",
            "EMULATOR_ID_TOKEN_TTL",
            "EMULATOR_CODE_TTL",
            "EMULATOR_REFRESH_TOKEN_REUSE",
            "EMULATOR_AUTHORIZATION_RESPONSE_ISS",
        ] {
            assert!(help.contains(variable), "{flag} does not name {variable}");
        }
    }
}

#[test]
fn version_prints_the_version_and_exits_0() {
    for flag in ["--version", "-V"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}: {}", stderr(&output));
        assert_eq!(
            stdout(&output),
            format!(
                "sign-in-with-vercel-emulator {}\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}

#[test]
fn another_argument_is_refused_with_the_usage_and_exit_2() {
    for args in [&["--port"][..], &["serve"], &["--help", "extra"]] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let error = stderr(&output);
        assert!(error.starts_with("error: "), "{args:?}: {error}");
        assert!(
            error.contains("Usage: sign-in-with-vercel-emulator"),
            "{error}"
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
}
