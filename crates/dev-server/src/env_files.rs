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

#[cfg(test)]
mod tests {
    use super::*;

    /// `.env.local` over `.env`, the process environment over both, as
    /// `vercel dev` reads them; a directory without the files is just the
    /// process environment.
    #[test]
    fn env_local_overrides_env_and_the_process_overrides_both() {
        let dir = std::env::temp_dir().join(format!("dev-server-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(".env"),
            "ONLY_ENV=1\nBOTH=from-env\nPATH=from-env\n",
        )
        .unwrap();
        std::fs::write(dir.join(".env.local"), "BOTH=from-local\nQUOTED=\"a b\"\n").unwrap();
        let vars = load_env(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(vars["ONLY_ENV"], "1");
        assert_eq!(vars["BOTH"], "from-local");
        assert_eq!(vars["QUOTED"], "a b");
        assert_eq!(vars.get("PATH"), std::env::var("PATH").ok().as_ref());
        let bare = load_env(&std::env::temp_dir().join("dev-server-env-none"));
        assert!(!bare.contains_key("ONLY_ENV"));
        assert_eq!(bare.get("PATH"), std::env::var("PATH").ok().as_ref());
    }
}
