//! `cargo run`: the whole app on http://localhost:3000, against Vercel or,
//! with no client ID configured, against the built-in emulator.

use dev_server::{DevOptions, app_root, env_dir, load_env, start};

/// What `--help` prints; any other argument is refused with it.
const USAGE: &str = "\
usage: cargo run [-- --help]

Serves the whole app (its functions and public/) on http://localhost:3000,
against your app's provider (Vercel, or VERCEL_OAUTH_ISSUER) when
VERCEL_APP_CLIENT_ID (or NEXT_PUBLIC_VERCEL_APP_CLIENT_ID) is set (from the
environment, .env.local or .env), else against the built-in emulator.
Settings are environment variables, not arguments: PORT (default 3000),
EMULATOR_PORT (default 3001), EMULATOR_API_PORT (3002),
EMULATOR_MARKETPLACE_PORT (3003), and the library's (cargo doc -p
sign-in-with-vercel --open, Configuration).";

#[tokio::main]
async fn main() {
    match std::env::args_os().nth(1) {
        None => {}
        Some(arg) if arg == "--help" || arg == "-h" => {
            println!("{USAGE}");
            return;
        }
        Some(arg) => {
            eprintln!("error: unknown argument {arg:?}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
    // `public/` and `vercel.json` are the app's, at the workspace root.
    // `.env.local` and `.env` are read from the Vercel project the command
    // runs in: the nearest folder up from here with a `vercel.json`, else
    // this folder.
    let root = app_root();
    let cwd = std::env::current_dir().unwrap_or_else(|_| root.clone());
    let env_dir = env_dir(&cwd);
    let result = async {
        let options = DevOptions::from_vars(load_env(&env_dir), &root)?;
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
