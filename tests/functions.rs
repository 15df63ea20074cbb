//! The app's layout, as Vercel's Rust builder reads it: each route of the
//! library is one Vercel function, a `[[bin]]` of this package whose source
//! file under `api/` is a shim serving that route, at the URL path Vercel
//! gives the file; and every `api/` binary is one of the routes.

use sign_in_with_vercel::ROUTES;

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
        assert!(
            bins.iter()
                .any(|(name, path)| name == route.name && path == route.source),
            "Cargo.toml lacks [[bin]] name = {:?}, path = {:?}",
            route.name,
            route.source
        );
        let shim = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(route.source),
        )
        .unwrap();
        assert!(
            shim.contains("auth.serve(&"),
            "{} serves a route",
            route.source
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
            ROUTES.iter().any(|r| r.name == name && r.source == path),
            "{path} is a function but not in ROUTES"
        );
    }
}

#[test]
fn routes_are_where_vercel_serves_their_files() {
    for route in ROUTES {
        let served = format!("/{}", route.source.trim_end_matches(".rs"));
        assert_eq!(route.path, served);
    }
}
