//! The library's stairs go one way: no top-level module imports one that
//! imports it back, directly or through others (test code aside). Read from
//! the sources, so that a new `use crate::…` that closes a circle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `dir`, as (path relative to `src/`, text).
fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().display().to_string();
            out.push((relative, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The code of a file: without comments (a doc link is not an import)
/// and without its test code: a file that is a test module (`tests.rs`),
/// and everything from a `#[cfg(test)] mod` on (by the crate's convention,
/// test modules come last). A test-only item elsewhere (a helper method)
/// stays: what follows it is code.
fn code(file: &str, text: &str) -> String {
    if file.ends_with("tests.rs") {
        return String::new();
    }
    let mut lines = Vec::new();
    let mut rest = text.lines().peekable();
    while let Some(line) = rest.next() {
        let test_module =
            line.trim() == "#[cfg(test)]" && rest.peek().is_some_and(|next| is_mod(next));
        if test_module {
            break;
        }
        if !line.trim_start().starts_with("//") {
            lines.push(line);
        }
    }
    lines.join("\n")
}

/// Whether `line` declares a module (`mod x`, `pub(crate) mod x`, …).
fn is_mod(line: &str) -> bool {
    let line = line.trim_start();
    let line = match line.strip_prefix("pub") {
        Some(rest) if rest.starts_with('(') => rest.split_once(')').map_or(rest, |(_, r)| r),
        Some(rest) => rest,
        None => line,
    };
    line.trim_start().starts_with("mod ")
}

/// The modules the crate root declares for tests only (`#[cfg(test)] mod
/// hostile;`): test code, like a `tests.rs`.
fn test_only_modules(lib: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = lib.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]" && is_mod(w[1]))
        .filter_map(|w| w[1].split("mod ").nth(1))
        .map(|name| name.trim_end_matches(';').trim().to_owned())
        .collect()
}

/// The crate root's re-exports (`pub use module::{Name, …};`), as each
/// name and the top-level module it comes from: `use crate::Auth` imports
/// `auth` as surely as `use crate::auth::Auth` does.
fn re_exports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    // Comments dropped; not `code`, which stops at the root's test module.
    let lib: Vec<&str> = lib
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    for statement in lib.join("\n").split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        // `session::cookie::X` or `session::{A, B}`: the last segment's
        // names, under an `as` their alias.
        let items = items
            .rsplit_once("::")
            .map_or(items, |(_, last)| last)
            .trim();
        let names = match items.strip_prefix('{') {
            Some(group) => top_level_items(group),
            None => vec![items],
        };
        for name in names {
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            if !name.is_empty() {
                found.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    found
}

/// The top-level module a source file belongs to (`session/cookie.rs` →
/// `session`); `lib.rs` is the crate root.
fn module_of(file: &str) -> String {
    file.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_owned()
}

/// The modules `text` names as `crate::<module>`, or through a name the
/// crate root re-exports (`crate::<Name>`, see [`re_exports`]), in code
/// and in `use` groups such as `use crate::{a, b::c}`.
fn references(
    text: &str,
    modules: &BTreeSet<String>,
    exported: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => top_level_items(group),
            None => vec![rest],
        };
        for name in names {
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(&name) {
                found.insert(name);
            } else if let Some(module) = exported.get(&name) {
                found.insert(module.clone());
            }
        }
    }
    found
}

/// The items of the `use` group that `group` opens (the text after its
/// `{`), each trimmed: split at its own commas, not those of nested groups
/// (`a::{X, Y}, b` is `a::{X, Y}` and `b`).
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(group[start..i].trim());
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(group[start..].trim());
    items
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(file, _)| module_of(file))
        .filter(|m| m != "lib")
        .collect();
    let lib = &files.iter().find(|(file, _)| file == "lib.rs").unwrap().1;
    let exported = re_exports(lib, &modules);
    let test_only = test_only_modules(lib);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in &files {
        let module = module_of(file);
        if module == "lib" || test_only.contains(&module) {
            continue;
        }
        let uses = references(&code(file, text), &modules, &exported);
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(uses.into_iter().filter(|m| *m != module));
    }
    graph
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.len() > 20, "the sources were read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_front_door_is_on_top_and_the_clock_is_a_leaf() {
    let graph = graph();
    for (module, uses) in &graph {
        assert!(!uses.contains("auth"), "{module} imports auth");
    }
    // The clock spawns the work it runs to its end through `background`,
    // which imports nothing itself.
    assert_eq!(
        graph["clock"],
        BTreeSet::from(["background".to_owned()]),
        "clock imports background only"
    );
    assert_eq!(
        graph["background"],
        BTreeSet::new(),
        "background imports nothing"
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            g.entry((*a).into()).or_default().insert((*b).into());
            g.entry((*b).into()).or_default();
        }
        g
    };
    let cycle = find_cycle(&edges(&[
        ("auth", "routes"),
        ("routes", "session"),
        ("session", "auth"),
    ]));
    assert_eq!(cycle.unwrap(), ["auth", "routes", "session", "auth"]);
    assert_eq!(
        find_cycle(&edges(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
}

#[test]
fn references_are_read_from_paths_and_use_groups() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let found = references(
        "use crate::{a::X, b}; fn f() { crate::c::g() }",
        &modules,
        &BTreeMap::new(),
    );
    assert_eq!(found, modules);
}

#[test]
fn references_are_read_from_nested_use_groups() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let found = references(
        "use crate::{a::{X, Y}, b, c::{self, d::Z}};",
        &modules,
        &BTreeMap::new(),
    );
    assert_eq!(found, modules);
}

#[test]
fn code_after_a_test_only_item_is_still_read() {
    let text = "use crate::a;\n#[cfg(test)]\nfn helper() {}\nfn f() { crate::b::g() }\n\
                #[cfg(test)]\nmod tests {\n    use crate::c;\n}\n";
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let found = references(&code("x.rs", text), &modules, &BTreeMap::new());
    assert_eq!(found, ["a", "b"].map(String::from).into());
}

/// A name the crate root re-exports is an import of its module, in a
/// path or a `use` group, renamed or not.
#[test]
fn references_through_the_crate_roots_re_exports_count() {
    let modules: BTreeSet<String> = ["auth", "error", "session", "x"].map(String::from).into();
    let lib = "mod auth;\n#[cfg(test)]\nmod x;\npub use auth::Auth;\npub use error::{Endpoint, Error as Failure};\n\
               pub use session::cookie::{TTL, Other};\n";
    let exported = re_exports(lib, &modules);
    assert_eq!(exported["Auth"], "auth");
    assert_eq!(exported["Failure"], "error");
    assert_eq!(exported["TTL"], "session");
    assert_eq!(test_only_modules(lib), ["x"].map(String::from).into());
    let found = references(
        "use crate::Auth; fn f() -> crate::Failure { crate::{TTL}; }",
        &modules,
        &exported,
    );
    assert_eq!(found, ["auth", "error", "session"].map(String::from).into());
}

/// The real crate root: its re-exports are read (a control for the
/// checks above), and `hostile` is test code.
#[test]
fn the_crate_roots_re_exports_and_test_modules_are_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(root.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = ["auth", "error", "provider", "session", "hostile"]
        .map(String::from)
        .into();
    let exported = re_exports(&lib, &modules);
    assert_eq!(exported.get("Auth").map(String::as_str), Some("auth"));
    assert_eq!(exported.get("Error").map(String::as_str), Some("error"));
    assert_eq!(
        exported.get("Provider").map(String::as_str),
        Some("provider")
    );
    assert_eq!(
        exported.get("REFRESH_TOKEN_TTL_SECS").map(String::as_str),
        Some("session")
    );
    assert!(test_only_modules(&lib).contains("hostile"));
}
