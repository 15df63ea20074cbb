//! The environment files `cargo run` reads: `.env` and `.env.local`, the
//! files `vercel dev` and `vercel env pull` use.

use std::collections::HashMap;
use std::path::Path;

/// The environment as `cargo run` sees it: the process environment, over
/// `.env.local`, over `.env` (the files `vercel env pull` and `vercel dev`
/// use), read from `dir`.
pub fn load_env(dir: &Path) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for file in [".env", ".env.local"] {
        let path = dir.join(file);
        if let Ok(iter) = dotenvy::from_path_iter(&path) {
            for (key, value) in iter.flatten() {
                vars.insert(key, value);
            }
        }
    }
    vars.extend(std::env::vars());
    vars
}
