//! The emulator of Vercel's authorization server on its own, for other
//! projects' tests: `cargo run --bin emulator`.
//!
//! `EMULATOR_PORT` (default 3001), `EMULATOR_CONFIG` (a JSON file with
//! users, clients and lifetimes), `EMULATOR_*_TTL` (seconds).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use sign_in_with_vercel::dev::emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() {
    let lookup = |k: &str| std::env::var(k).ok();
    let result = (|| {
        let port: u16 = lookup("EMULATOR_PORT")
            .map(|p| {
                p.trim()
                    .parse()
                    .map_err(|_| "EMULATOR_PORT must be a port number".to_owned())
            })
            .unwrap_or(Ok(3001))?;
        let config = EmulatorConfig::from_lookup(lookup)?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        Ok::<_, String>((listener, port, config))
    })();
    let (listener, port, config) = match result {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let clients: Vec<String> = config.clients.iter().map(|c| c.client_id.clone()).collect();
    let emulator = Emulator::new(issuer.clone(), config);
    let server = match emulator.serve(listener) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("Sign in with Vercel emulator: issuer {issuer}");
    println!("  discovery: {issuer}/.well-known/openid-configuration");
    if clients.is_empty() {
        println!("  no clients registered: give EMULATOR_CONFIG a JSON file with \"clients\"");
    } else {
        println!("  clients: {}", clients.join(", "));
    }
    server.wait().await;
}
