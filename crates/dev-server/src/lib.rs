//! `cargo run`: the app on `http://localhost:3000`, as Vercel would serve
//! it, with every route of the library and the pages of `public/`, against
//! Vercel or, when no client ID is configured, the emulator of Vercel's
//! authorization server started beside it. It listens on loopback only,
//! and answers only requests for `localhost`, `127.0.0.1` or `[::1]` (and
//! for `APP_URL`'s host when it is set): another name that resolves to
//! loopback (DNS rebinding) is refused with 403.
//!
//! Not a Vercel function and never deployed: the functions are the
//! `api/**/*.rs` binaries of the app at the workspace root.

mod dev_key;
mod env_files;
mod hosts;
mod listen;
mod site;
mod stack;

use std::path::PathBuf;

pub use env_files::{env_dir, load_env};
pub use stack::{DevOptions, DevStack, start};

/// The app this server serves: the workspace root, where `public/`,
/// `vercel.json` and the functions' `api/` live.
pub fn app_root() -> PathBuf {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::canonicalize(root).unwrap_or_else(|_| PathBuf::from(root))
}
