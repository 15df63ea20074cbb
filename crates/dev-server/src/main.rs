//! `cargo run`: the whole app on http://localhost:3000, against Vercel or,
//! with no client ID configured, against the built-in emulator.

use dev_server::{DevOptions, app_root, load_env, start};

#[tokio::main]
async fn main() {
    // `public/` and `vercel.json` are the app's, at the workspace root.
    // `.env.local` and `.env` are read from the Vercel project the command
    // runs in: the nearest folder up from here with a `vercel.json`, else
    // this folder.
    let root = app_root();
    let cwd = std::env::current_dir().unwrap_or_else(|_| root.clone());
    let env_dir = cwd
        .ancestors()
        .find(|dir| dir.join("vercel.json").is_file())
        .unwrap_or(&cwd)
        .to_owned();
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
