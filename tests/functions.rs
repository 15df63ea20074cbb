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
            "auth.serve(&{}, ",
            route.name.to_uppercase().replace('-', "_")
        );
        assert!(
            shim.contains(&serves),
            "{source} serves its route: {serves}"
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
