//! `cargo run`: the whole app on http://localhost:3000, against Vercel or,
//! with no client ID configured, against the built-in emulator.

use std::path::Path;

use sign_in_with_vercel::dev::{DevOptions, load_env, start};

#[tokio::main]
async fn main() {
    // `public/` and `vercel.json` sit beside Cargo.toml. `.env.local` and
    // `.env` are read from the project the command runs in: the nearest
    // folder up from here with a Cargo.toml, else this folder.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cwd = std::env::current_dir().unwrap_or_else(|_| root.to_owned());
    let env_dir = cwd
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or(&cwd)
        .to_owned();
    let result = async {
        let options = DevOptions::from_vars(load_env(&env_dir), root)?;
        start(options).await
    }
    .await;
    match result {
        Ok(stack) => {
            println!("{}", stack.banner);
            stack.wait().await;
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
