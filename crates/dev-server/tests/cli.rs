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
