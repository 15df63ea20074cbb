//! The program's command line, run as built: `--help` and `--version`
//! answer and exit; anything else is refused with the usage.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = env!("CARGO_BIN_EXE_sign-in-with-vercel-emulator");

/// Runs the program with `args` on free ports; it must exit within 10 s
/// (one that starts serving instead is killed, and the test fails).
fn run(args: &[&str]) -> Output {
    run_with(args, Some("0"))
}

/// The same with the issuer port `issuer_port` (`None`: unset, the default).
fn run_with(args: &[&str], issuer_port: Option<&str>) -> Output {
    let mut child = program(issuer_port)
        .args(args)
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

/// The program with no configuration file, the API and marketplace on free
/// ports, the issuer on `issuer_port` (`None`: unset, the default), its
/// standard output piped.
fn program(issuer_port: Option<&str>) -> Command {
    let mut command = Command::new(PROGRAM);
    match issuer_port {
        Some(port) => command.env("EMULATOR_PORT", port),
        None => command.env_remove("EMULATOR_PORT"),
    };
    command
        .env_remove("EMULATOR_CONFIG")
        .env("EMULATOR_API_PORT", "0")
        .env("EMULATOR_MARKETPLACE_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
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

/// An app configured with the default issuer would talk to whatever holds
/// the port: the program says so and exits instead of moving elsewhere.
#[test]
fn a_taken_port_is_an_error_the_default_included() {
    // Held by this test, or by something else already: taken either way.
    let _default = std::net::TcpListener::bind("127.0.0.1:3001");
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    for (issuer_port, named) in [
        (None, "127.0.0.1:3001"),
        (Some(port.as_str()), port.as_str()),
    ] {
        let output = run_with(&[], issuer_port);
        assert_eq!(output.status.code(), Some(1), "{issuer_port:?}");
        let error = stderr(&output);
        assert!(
            error.contains(named) && error.contains("EMULATOR_PORT"),
            "{issuer_port:?}: {error}"
        );
        assert!(stdout(&output).is_empty(), "{issuer_port:?} served");
    }
}

/// Started without arguments, the program serves until it is stopped: its
/// issuer answers discovery a moment after the banner, and the process
/// is still running.
#[test]
fn without_arguments_it_serves_until_stopped() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let mut child = program(Some("0"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {PROGRAM}: {e}"));
    // Kept open until the end: a closed pipe would fail the banner's
    // next lines.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    let issuer = banner
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|url| url.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no issuer in {banner:?}"))
        .to_owned();
    std::thread::sleep(Duration::from_millis(300));
    let mut stream = std::net::TcpStream::connect(&issuer)
        .unwrap_or_else(|e| panic!("the issuer {issuer} is not served: {e}"));
    write!(
        stream,
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {issuer}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    drop(out);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    assert!(
        answer.contains(&format!("\"issuer\":\"http://{issuer}\"")),
        "{answer}"
    );
    assert!(running, "the program exited while serving");
}
