//! The emulator of Vercel's authorization server on its own, for other
//! projects' tests: `cargo run -p sign-in-with-vercel-emulator`, or installed with
//! `cargo install sign-in-with-vercel-emulator`.
//!
//! `EMULATOR_PORT` (default 3001: the issuer origin, like `vercel.com`),
//! `EMULATOR_API_PORT` (default 3002: the API origin, like
//! `api.vercel.com`), `EMULATOR_MARKETPLACE_PORT` (default 3003: the
//! marketplace issuer, like `marketplace.vercel.com`); 0 picks a free port,
//! and a port that is taken, the default included, is an error.
//! `EMULATOR_CONFIG` (a JSON file with users, clients, lifetimes, policies
//! and installations), `EMULATOR_*_TTL` (seconds),
//! `EMULATOR_REFRESH_TOKEN_REUSE` (`reject` or `revoke_grant`),
//! `EMULATOR_AUTHORIZATION_RESPONSE_ISS` (`true` or `false`): see the
//! crate documentation's "Settings".
//!
//! It takes no argument but `--help` (`-h`), which prints these settings,
//! and `--version` (`-V`); both exit at once. Any other is an error (exit
//! status 2).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use sign_in_with_vercel_emulator::{Emulator, EmulatorConfig, Origins, SigningKey};

/// What `--help` prints, and an unknown argument's error after it.
const USAGE: &str = "\
Usage: sign-in-with-vercel-emulator [--help | --version]

An emulator of Vercel's authorization server (Sign in with Vercel) for tests
and local development. It serves three origins on 127.0.0.1 and prints them.

Options:
  -h, --help     print this help and exit
  -V, --version  print the version and exit

Settings (environment variables):
  EMULATOR_PORT                        issuer origin, like vercel.com (default 3001)
  EMULATOR_API_PORT                    API origin, like api.vercel.com (default 3002)
  EMULATOR_MARKETPLACE_PORT            marketplace issuer, like marketplace.vercel.com
                                       (default 3003); for the three ports, 0 picks a
                                       free port, and a port that is taken, the default
                                       included, is an error
  EMULATOR_CONFIG                      a JSON file with users, clients, lifetimes,
                                       policies and installations (default: one demo
                                       user, no client)
  EMULATOR_ACCESS_TOKEN_TTL            access token lifetime, seconds (default 3600)
  EMULATOR_REFRESH_TOKEN_TTL           refresh token lifetime from the sign-in, seconds
                                       (default 2592000)
  EMULATOR_ID_TOKEN_TTL                ID token lifetime, seconds (default 3600)
  EMULATOR_CODE_TTL                    authorization code lifetime, seconds (default 60)
  EMULATOR_REFRESH_TOKEN_REUSE         revoke_grant (default) or reject
  EMULATOR_AUTHORIZATION_RESPONSE_ISS  true or false (default): iss in authorization
                                       responses (RFC 9207)

Variables override the file. The crate's documentation has every setting:
  cargo doc -p sign-in-with-vercel-emulator --open
";

/// What the command line asks for.
enum Command {
    Serve,
    Help,
    Version,
}

/// Reads the arguments (without the program's name): none, or one of
/// `--help`, `-h`, `--version`, `-V`.
fn command(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<Command, String> {
    let Some(first) = args.next() else {
        return Ok(Command::Serve);
    };
    let command = match first.to_str() {
        Some("--help" | "-h") => Command::Help,
        Some("--version" | "-V") => Command::Version,
        _ => {
            return Err(format!("unexpected argument '{}'", first.to_string_lossy()));
        }
    };
    match args.next() {
        None => Ok(command),
        Some(extra) => Err(format!("unexpected argument '{}'", extra.to_string_lossy())),
    }
}

/// Listens on the port `variable` names (0: a free one), or, unset, on
/// the default port.
fn listen(variable: &str, default: u16) -> Result<TcpListener, String> {
    let set = std::env::var(variable).ok();
    let port: u16 = set
        .as_deref()
        .map(|p| {
            p.trim()
                .parse()
                .map_err(|_| format!("{variable} must be a port number"))
        })
        .unwrap_or(Ok(default))?;
    let bind = |port: u16| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    // A default port that is taken is an error too, not a quiet move to
    // another: an app configured with the default issuer would go on
    // talking to whatever holds it (an emulator left running, without this
    // configuration).
    bind(port).map_err(|e| {
        format!(
            "cannot listen on 127.0.0.1:{port} ({variable}{}): {e}; stop what holds it, or set {variable} (0: a free port)",
            if set.is_some() { "" } else { " unset, its default" }
        )
    })
}

#[tokio::main]
async fn main() {
    match command(std::env::args_os().skip(1)) {
        Ok(Command::Serve) => {}
        Ok(Command::Help) => {
            print!("{USAGE}");
            return;
        }
        Ok(Command::Version) => {
            println!("sign-in-with-vercel-emulator {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
    let result = (|| {
        let config = EmulatorConfig::from_lookup(|k| std::env::var(k).ok())?;
        let issuer = listen("EMULATOR_PORT", 3001)?;
        let api = listen("EMULATOR_API_PORT", 3002)?;
        let marketplace = listen("EMULATOR_MARKETPLACE_PORT", 3003)?;
        Ok::<_, String>(([issuer, api, marketplace], config))
    })();
    let ([issuer, api, marketplace], config) = match result {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let clients: Vec<String> = config.clients.iter().map(|c| c.client_id.clone()).collect();
    let reuse = config.refresh_token_reuse;
    let with_iss = config.authorization_response_iss;
    let running = match Emulator::start([issuer, api, marketplace], config, SigningKey::generate())
    {
        Ok(running) => running,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let Origins {
        issuer,
        api,
        marketplace,
    } = running.emulator().origins().clone();
    println!("Sign in with Vercel emulator: issuer {issuer}");
    println!("  discovery: {issuer}/.well-known/openid-configuration");
    println!("  authorized apps: {issuer}/account/authorizations");
    println!("  marketplace issuer (SSO ID tokens): {marketplace}");
    println!("  API (token, revocation, introspection, userinfo, REST, SSO exchange): {api}");
    let reuse = serde_json::to_string(&reuse).unwrap_or_default();
    println!("  refresh token reuse: {}", reuse.trim_matches('"'));
    println!(
        "  iss in authorization responses: {}",
        if with_iss { "on" } else { "off" }
    );
    if clients.is_empty() {
        println!("  no clients registered: give EMULATOR_CONFIG a JSON file with \"clients\"");
    } else {
        println!("  clients: {}", clients.join(", "));
    }
    running.wait().await;
}
