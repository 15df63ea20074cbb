//! `cargo run`'s arguments: `--help` says what the server does and how it
//! is set (environment variables), and anything else is refused with it,
//! rather than starting a server the argument meant to change.

use std::process::Command;

#[test]
fn help_prints_the_usage_and_starts_nothing() {
    for flag in ["--help", "-h"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dev"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("usage: cargo run"), "{text}");
        assert!(text.contains("PORT"), "{text}");
    }
}

#[test]
fn an_unknown_argument_is_refused_with_the_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_dev"))
        .arg("--port")
        .arg("4000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("unknown argument \"--port\""), "{text}");
    assert!(text.contains("usage: cargo run"), "{text}");
}

/// The tests start the dev server in testkit's directory (`testkit::spawn`),
/// which is a Vercel project of its own for `cargo run`'s look-up of `.env`
/// files and holds none: no developer's `.env.local` (at the repository's
/// root) and nothing anyone left in the temporary directory configures it.
#[test]
fn the_tests_dev_server_reads_no_env_file() {
    let dir = testkit::child_dir();
    assert_eq!(dev_server::env_dir(dir), dir);
    for file in [".env", ".env.local"] {
        assert!(!dir.join(file).exists(), "{file}");
    }
}
