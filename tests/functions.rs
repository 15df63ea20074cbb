//! The app's layout, as Vercel's Rust builder reads it: each route of the
//! library is one Vercel function, a `[[bin]]` of this package named after
//! the route, whose source file under `api/` is a shim serving that route
//! and is where Vercel serves the route's configured path (`api/x/y.rs` at
//! `/api/x/y`); and every `api/` binary is one of the routes.

use sign_in_with_vercel::{Paths, ROUTES, Route};

/// The source file Vercel serves at the route's default path.
fn source(route: &Route) -> String {
    format!(
        "{}.rs",
        route.path(&Paths::default()).trim_start_matches('/')
    )
}

/// The `[[bin]]` entries of the app's `Cargo.toml` as `(name, path)`.
fn bins() -> Vec<(String, String)> {
    let manifest = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    let value = |block: &str, key: &str| {
        block.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    manifest
        .split("[[bin]]")
        .skip(1)
        .map(|block| block.split("\n[").next().unwrap_or(block))
        .filter_map(|block| Some((value(block, "name")?, value(block, "path")?)))
        .collect()
}

#[test]
fn every_route_has_its_bin_and_shim() {
    let bins = bins();
    for route in ROUTES {
        let source = source(route);
        assert!(
            bins.iter()
                .any(|(name, path)| name == route.name && *path == source),
            "Cargo.toml lacks [[bin]] name = {:?}, path = {source:?}",
            route.name,
        );
        let shim =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&source))
                .unwrap();
        let serves = format!(
            "auth.serve_kept_alive(&{}, req, keep_alive)",
            route.name.to_uppercase().replace('-', "_")
        );
        assert!(
            shim.contains(&serves),
            "{source} serves its route: {serves}"
        );
        // The work a request leaves running goes to the runtime's hook.
        assert!(
            shim.contains("KeepAlive::new(move |work| state.wait_until(work))"),
            "{source} hands its requests' work to wait_until"
        );
    }
}

#[test]
fn every_function_bin_is_a_route() {
    let bins = bins();
    assert_eq!(bins.len(), ROUTES.len(), "one [[bin]] per route: {bins:?}");
    for (name, path) in &bins {
        assert!(path.starts_with("api/"), "{path} is not a function");
        assert!(
            ROUTES.iter().any(|r| r.name == name && source(r) == *path),
            "{path} is a function but not in ROUTES"
        );
    }
}

/// A variable the functions read whose value is not UTF-8 is a
/// configuration error naming it, logged at start-up and answered by every
/// route, not a variable left unset: here an `AUTH_SECRET` that would
/// otherwise be replaced, unsaid, by a key derived from the client secret.
#[test]
fn a_variable_that_is_not_utf8_is_a_configuration_error() {
    use std::io::{Read as _, Write as _};
    use std::os::unix::ffi::OsStringExt as _;
    let port = testkit::free_port();
    let log = testkit::private_dir().join(format!("{}.log", testkit::unique_name("not-utf8")));
    let mut command = testkit::clean_command(env!("CARGO_BIN_EXE_session"));
    command
        .env("VERCEL_DEV_PORT", port.to_string())
        .env("VERCEL_APP_CLIENT_ID", "cl_app")
        .env(
            "VERCEL_APP_CLIENT_SECRET",
            "a-client-secret-of-32-characters-or-more",
        )
        .env(
            "AUTH_SECRET",
            std::ffi::OsString::from_vec(b"\xff0123456789abcdef0123456789abcdef".to_vec()),
        )
        .stderr(std::fs::File::create(&log).expect("a log file"));
    let mut process = testkit::Process::spawn(&mut command, "session");
    let mut stream = process.connect(port, std::time::Duration::from_secs(20));
    stream
        .write_all(
            b"GET /api/auth/session HTTP/1.1\r\nHost: localhost:3000\r\nConnection: close\r\n\r\n",
        )
        .expect("the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("the answer");
    drop(process);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""error":"configuration""#), "{answer}");
    assert!(
        logged.contains("AUTH_SECRET: is not valid UTF-8"),
        "{logged}"
    );
}
