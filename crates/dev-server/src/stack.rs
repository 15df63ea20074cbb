//! Stack start-up for `cargo run`: every route at its Vercel path
//! (the same library functions the Vercel binaries call) with the static
//! site, and, when no client ID is configured, the emulator as the
//! provider on its three origins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use sign_in_with_vercel::{Auth, BoxFuture, Config, Paths, VERCEL_ISSUER};
use sign_in_with_vercel_emulator::{
    Client, Emulator, EmulatorConfig, Origins, Running, SCOPES, Server, SigningKey, User, serve,
};

use crate::dev_key::{dev_key, random_secret};
use crate::hosts::Hosts;
use crate::listen::{bind_both, bind_default};
use crate::site::Site;

/// How the dev server runs.
#[derive(Clone)]
pub struct DevOptions {
    /// The app's port (`PORT`, default 3000; 0 picks a free one).
    pub port: u16,
    /// The emulator's issuer port (`EMULATOR_PORT`, default 3001; 0 picks
    /// a free one): authorization, JWKS, discovery, avatars, account page.
    pub emulator_port: u16,
    /// The emulator's API port (`EMULATOR_API_PORT`, default 3002; 0 picks
    /// a free one): token, revocation, introspection, userinfo, the REST
    /// API, the SSO exchange.
    pub emulator_api_port: u16,
    /// The emulator's marketplace issuer port (`EMULATOR_MARKETPLACE_PORT`,
    /// default 3003; 0 picks a free one): the issuer of SSO ID tokens.
    pub emulator_marketplace_port: u16,
    /// The static pages (`public/`).
    pub public_dir: PathBuf,
    /// `vercel.json`.
    pub vercel_json: PathBuf,
    /// The variables the app and the emulator are configured from.
    pub vars: HashMap<String, String>,
    /// Where the development session key is kept when `AUTH_SECRET` is
    /// not set (`target/dev-auth-secret`): made once, so that restarting
    /// the server does not sign the developer out.
    pub dev_key_file: PathBuf,
}

/// Ports and paths; of the variables only their names (they include the
/// client secret and `AUTH_SECRET`).
impl std::fmt::Debug for DevOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("DevOptions")
            .field("port", &self.port)
            .field("emulator_port", &self.emulator_port)
            .field("emulator_api_port", &self.emulator_api_port)
            .field("emulator_marketplace_port", &self.emulator_marketplace_port)
            .field("public_dir", &self.public_dir)
            .field("vercel_json", &self.vercel_json)
            .field("dev_key_file", &self.dev_key_file)
            .field("vars", &names)
            .finish()
    }
}

impl DevOptions {
    /// Options from `vars` (see [`super::load_env`]), with `public/` and
    /// `vercel.json` looked up in `root`.
    pub fn from_vars(vars: HashMap<String, String>, root: &Path) -> Result<Self, String> {
        let port = |name: &str, default: u16| -> Result<u16, String> {
            vars.get(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| format!("{name} must be a port number"))
                })
                .unwrap_or(Ok(default))
        };
        Ok(Self {
            port: port("PORT", 3000)?,
            emulator_port: port("EMULATOR_PORT", 3001)?,
            emulator_api_port: port("EMULATOR_API_PORT", 3002)?,
            emulator_marketplace_port: port("EMULATOR_MARKETPLACE_PORT", 3003)?,
            public_dir: root.join("public"),
            vercel_json: root.join("vercel.json"),
            dev_key_file: root.join("target").join("dev-auth-secret"),
            vars,
        })
    }
}

/// The running app (and emulator, if started).
pub struct DevStack {
    /// The app's URL, e.g. `http://localhost:3000`.
    pub app_url: String,
    /// The emulator, when it is the provider: its three origins, served
    /// until the stack is dropped.
    pub emulator: Option<Running>,
    /// What to tell the developer.
    pub banner: String,
    servers: Vec<Server>,
}

impl DevStack {
    /// Runs until the process ends.
    pub async fn wait(mut self) {
        if let Some(server) = self.servers.pop() {
            server.wait().await;
        }
    }
}

/// Starts the dev server, and the emulator when no client ID is configured.
pub async fn start(options: DevOptions) -> Result<DevStack, String> {
    let (listener, port, listener_v6) = bind_both(options.port)?;
    let app_url = format!("http://localhost:{port}");
    let mut vars = options.vars.clone();
    let mut servers = Vec::new();
    let mut emulator = None;

    let configured = ["VERCEL_APP_CLIENT_ID", "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID"]
        .iter()
        .any(|k| vars.get(*k).is_some_and(|v| !v.trim().is_empty()));
    // The redirect URI's path, moved by AUTH_BASE_PATH as the routes are
    // (an invalid one is reported by the configuration below).
    let callback = vars
        .get("AUTH_BASE_PATH")
        .map(|base| base.trim())
        .filter(|base| !base.is_empty())
        .map_or_else(Paths::default, Paths::with_base)
        .callback;
    // Where browsers reach the app: `APP_URL` when it is set (a tunnel's
    // name, say), which the app then sends as its redirect URI; else this
    // server.
    // As the app writes it (host in lower case, no default port, an IDN in
    // ASCII): the emulator compares redirect URIs exactly. A malformed one
    // is the configuration's error, below.
    let public_url = vars
        .get("APP_URL")
        .and_then(|url| sign_in_with_vercel::Origin::parse_configured(url.trim()).ok())
        .map_or_else(|| app_url.clone(), |origin| origin.as_str().to_owned());
    let banner;
    if configured {
        let issuer = vars
            .get("VERCEL_OAUTH_ISSUER")
            .cloned()
            .unwrap_or_else(|| VERCEL_ISSUER.to_owned());
        // `vercel env pull` writes `KEY=""` for a variable it may not read
        // (a Sensitive one), and nothing for one not set for Development:
        // the app then signs in as a public client, and every sign-in of a
        // confidential app fails with `invalid_client`. Said here, once.
        let client = match vars.get("VERCEL_APP_CLIENT_SECRET").map(|v| v.trim()) {
            Some(secret) if !secret.is_empty() => "a client secret",
            Some(_) => {
                "VERCEL_APP_CLIENT_SECRET is empty: signing in as a public client (a Sensitive variable pulls empty; set it for Development)"
            }
            None => "no VERCEL_APP_CLIENT_SECRET: signing in as a public client",
        };
        banner = format!(
            "Sign in with Vercel: dev server\n\n  Open {public_url} and sign in.\n  Provider: {issuer} (client ID from the environment, .env.local or .env; {client})\n  The app's Authorization Callback URLs must include {public_url}{callback}\n\n  Press Ctrl+C to stop.\n"
        );
    } else {
        let issuer_listener = bind_default(options.emulator_port, "EMULATOR_PORT", &vars)?;
        let api_listener = bind_default(options.emulator_api_port, "EMULATOR_API_PORT", &vars)?;
        let marketplace_listener = bind_default(
            options.emulator_marketplace_port,
            "EMULATOR_MARKETPLACE_PORT",
            &vars,
        )?;
        let config = EmulatorConfig::from_lookup(|k| vars.get(k).cloned())?;
        let running = Emulator::start(
            [issuer_listener, api_listener, marketplace_listener],
            config,
            SigningKey::generate(),
        )
        .map_err(|e| e.to_string())?;
        let emu = running.emulator().clone();
        let Origins {
            issuer,
            api,
            marketplace,
        } = emu.origins().clone();
        let secret = random_secret();
        let method = vars
            .get("VERCEL_APP_TOKEN_AUTH")
            .cloned()
            .unwrap_or_else(|| "client_secret_post".to_owned());
        let public = method == "none";
        // A VERCEL_APP_TOKEN_AUTH the emulator does not implement is an
        // error here rather than a panic.
        emu.try_register_client(Client {
            client_id: "cl_local_dev_app".to_owned(),
            name: "Local app".to_owned(),
            client_secret: (!public).then(|| secret.clone()),
            token_endpoint_auth_method: method,
            redirect_uris: {
                let mut uris = vec![
                    format!("http://localhost:{port}{callback}"),
                    format!("http://127.0.0.1:{port}{callback}"),
                ];
                let public_callback = format!("{public_url}{callback}");
                if !uris.contains(&public_callback) {
                    uris.push(public_callback);
                }
                uris
            },
            scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        })
        .map_err(|e| format!("the emulator's client for the app (VERCEL_APP_TOKEN_AUTH): {e}"))?;
        vars.insert("VERCEL_APP_CLIENT_ID".into(), "cl_local_dev_app".into());
        if !public {
            vars.insert("VERCEL_APP_CLIENT_SECRET".into(), secret);
        }
        vars.insert("VERCEL_OAUTH_ISSUER".into(), issuer.clone());
        let users = emu.users();
        let who = users
            .first()
            .map(|u: &User| format!("{} ({})", u.name, u.email))
            .unwrap_or_default();
        banner = format!(
            "Sign in with Vercel: dev server\n\n  Open {public_url} and click \"Sign in with Vercel\".\n  No Vercel app is configured, so a local emulator of Vercel's authorization\n  server is running at {issuer}; you will sign in as {who}.\n  Its API (token, revocation, introspection, userinfo) is at {api}, as\n  Vercel's is at https://api.vercel.com; its marketplace issuer (SSO ID tokens)\n  at {marketplace}. Authorized apps: {issuer}/account/authorizations\n\n  To use your real Vercel app instead: create it in the Vercel dashboard with the\n  callback URL {public_url}{callback}, run `vercel env pull` (or put\n  VERCEL_APP_CLIENT_ID and VERCEL_APP_CLIENT_SECRET in .env.local), and restart.\n\n  Press Ctrl+C to stop.\n"
        );
        emulator = Some(running);
    }

    let key_note = if vars
        .get("AUTH_SECRET")
        .is_some_and(|v| !v.trim().is_empty())
    {
        "Sessions are sealed with AUTH_SECRET.".to_owned()
    } else {
        let path = options.dev_key_file.clone();
        vars.insert("AUTH_SECRET".into(), dev_key(&path)?);
        format!(
            "AUTH_SECRET is not set: sessions are sealed with the development key in\n  {} (made once, kept across restarts; never deploy it).",
            path.display()
        )
    };
    let banner = banner.replace(
        "\n  Press Ctrl+C to stop.",
        &format!("\n  {key_note}\n\n  Press Ctrl+C to stop."),
    );
    let config = Config::from_lookup(|k| vars.get(k).cloned())
        .map_err(|e| format!("configuration error: {e}"))?;
    let provider = (!config.is_vercel_issuer()).then(|| config.issuer.clone());
    let hosts = Arc::new(Hosts::new(port, config.app_url.as_ref()));
    let auth = Arc::new(Auth::new(config));
    let site = Arc::new(Site::load(
        &options.public_dir,
        &options.vercel_json,
        provider.as_deref(),
    )?);
    if let Some(v6) = listener_v6 {
        servers.insert(
            0,
            serve(v6, handler(auth.clone(), site.clone(), hosts.clone()))
                .map_err(|e| e.to_string())?,
        );
    }
    servers.push(serve(listener, handler(auth, site, hosts)).map_err(|e| e.to_string())?);
    Ok(DevStack {
        app_url,
        emulator,
        banner,
        servers,
    })
}

fn handler(
    auth: Arc<Auth>,
    site: Arc<Site>,
    hosts: Arc<Hosts>,
) -> impl Fn(http::Request<Vec<u8>>) -> BoxFuture<'static, http::Response<Bytes>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |request| {
        let auth = auth.clone();
        let site = site.clone();
        let hosts = hosts.clone();
        Box::pin(async move {
            if let Some(refusal) = hosts.refusal(&request) {
                return refusal;
            }
            let response = match auth.dispatch(&request) {
                Some(route) => route.await,
                None => site.serve(&request).await,
            };
            site.with_headers(request.uri().path(), response)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

    use super::*;
    use crate::listen::port_of;

    /// Another program on the IPv6 loopback of the app's port would get
    /// what browsers send to `localhost` there: the server does not start.
    #[tokio::test]
    async fn a_taken_ipv6_loopback_port_stops_the_start() {
        // A port no outgoing connection can hold on 127.0.0.1 meanwhile
        // (which would fail the start for another reason).
        let port = testkit::free_port();
        let taken = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).unwrap();
        assert_eq!(port_of(&taken).unwrap(), port);
        let options = DevOptions {
            port,
            ..DevOptions::from_vars(HashMap::new(), &crate::app_root()).unwrap()
        };
        match start(options).await {
            Ok(_) => panic!("started beside another program on [::1]:{port}"),
            Err(e) => assert!(
                e.contains(&format!("[::1]:{port}")) && e.contains("PORT"),
                "{e}"
            ),
        }
    }

    /// The status of one request, written as `head` (with its request line
    /// and headers), to `127.0.0.1:port` over a fresh connection.
    fn status_of(port: u16, head: &str) -> u16 {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status: {answer:?}"))
    }

    /// The dev server configured for a provider that is never asked (no
    /// emulator, no key file written), with `vars` besides.
    async fn configured(vars: &[(&str, &str)]) -> (DevStack, u16) {
        let port = testkit::free_port();
        let mut all: HashMap<String, String> = [
            ("VERCEL_APP_CLIENT_ID", "cl_hosts"),
            ("VERCEL_APP_CLIENT_SECRET", "a-client-secret"),
            ("VERCEL_OAUTH_ISSUER", "http://127.0.0.1:9"),
            ("AUTH_SECRET", "0123456789abcdef0123456789abcdef0123456789"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let options = DevOptions {
            port,
            ..DevOptions::from_vars(all, &crate::app_root()).unwrap()
        };
        (start(options).await.unwrap(), port)
    }

    /// DNS rebinding: a page on another name that resolves to loopback
    /// reaches the server with that name as `Host`, and is refused; the
    /// loopback names are answered, in any case, without a port or with
    /// the server's own. A request without a `Host` is malformed.
    // The test's blocking client blocks its own thread: the server needs
    // worker threads of its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_requests_for_loopback_names_are_answered() {
        let (_stack, port) = configured(&[]).await;
        let get = |host: &str| status_of(port, &format!("GET / HTTP/1.1\r\nHost: {host}\r\n"));
        for host in [
            format!("localhost:{port}"),
            format!("LocalHost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
            "localhost".to_owned(),
        ] {
            assert_eq!(get(&host), 200, "{host}");
        }
        for host in [
            format!("evil.example:{port}"),
            "evil.example".to_owned(),
            format!("localhost.evil.example:{port}"),
            format!("127.0.0.2:{port}"),
            format!("localhost:{}", port.wrapping_add(1)),
            format!("user@localhost:{port}"),
        ] {
            assert_eq!(get(&host), 403, "{host}");
        }
        let authorize =
            format!("GET /api/auth/authorize HTTP/1.1\r\nHost: evil.example:{port}\r\n");
        assert_eq!(status_of(port, &authorize), 403);
        let absolute =
            format!("GET http://evil.example:{port}/ HTTP/1.1\r\nHost: localhost:{port}\r\n");
        assert_eq!(status_of(port, &absolute), 403, "a target of absolute form");
        assert_eq!(status_of(port, "GET / HTTP/1.1\r\n"), 400, "no Host");
        let twice = format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\nHost: evil.example\r\n");
        assert_eq!(status_of(port, &twice), 400, "two Hosts");
    }

    /// A configured `APP_URL` (a tunnel's name, say) is a name the server
    /// answers to as well, beside the loopback ones.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_host_of_app_url_is_answered_too() {
        let (_stack, port) = configured(&[("APP_URL", "https://dev.example.test")]).await;
        let get = |host: &str| status_of(port, &format!("GET / HTTP/1.1\r\nHost: {host}\r\n"));
        assert_eq!(get("dev.example.test"), 200);
        assert_eq!(get("DEV.example.test:443"), 200);
        assert_eq!(get(&format!("localhost:{port}")), 200);
        assert_eq!(get("other.example.test"), 403);
        assert_eq!(get("dev.example.test:8443"), 403);
        // A local TLS proxy in front of the server, keeping the Host it
        // was asked for: `APP_URL` on a loopback name with a port of its
        // own.
        let (_stack, port) = configured(&[("APP_URL", "https://localhost:8443")]).await;
        let get = |host: &str| status_of(port, &format!("GET / HTTP/1.1\r\nHost: {host}\r\n"));
        assert_eq!(get("localhost:8443"), 200);
        assert_eq!(get(&format!("localhost:{port}")), 200);
        assert_eq!(get("localhost:8444"), 403);
    }

    /// With `APP_URL` set (a tunnel's name), the banner sends the developer
    /// there and names its callback, and the built-in emulator takes that
    /// callback: the redirect URI the app sends. Before, the banner named
    /// localhost and the emulator refused the sign-in with a 400.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn app_url_is_where_the_banner_and_the_emulators_callback_point() {
        let port = testkit::free_port();
        let all: HashMap<String, String> = [
            ("APP_URL", "https://Dev.Example.test:443/"),
            ("AUTH_SECRET", "0123456789abcdef0123456789abcdef0123456789"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let options = DevOptions {
            port,
            emulator_port: 0,
            emulator_api_port: 0,
            emulator_marketplace_port: 0,
            ..DevOptions::from_vars(all, &crate::app_root()).unwrap()
        };
        let stack = start(options).await.unwrap();
        assert!(
            stack
                .banner
                .contains("Open https://dev.example.test and click")
                && stack
                    .banner
                    .contains("callback URL https://dev.example.test/api/auth/callback,"),
            "{}",
            stack.banner
        );
        let issuer = stack
            .emulator
            .as_ref()
            .unwrap()
            .emulator()
            .origins()
            .issuer
            .clone();
        let emulator_port: u16 = issuer.rsplit(':').next().unwrap().parse().unwrap();
        let authorize = |redirect: &str| {
            status_of(
                emulator_port,
                &format!(
                    "GET /oauth/authorize?client_id=cl_local_dev_app&redirect_uri={redirect}&response_type=code&scope=openid&state=abcdefghijklmnopqrstuvwxyz0123456789abcdefg&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                ),
            )
        };
        let ok = authorize("https%3A%2F%2Fdev.example.test%2Fapi%2Fauth%2Fcallback");
        assert!((200..400).contains(&ok), "the emulator answered {ok}");
        assert_eq!(
            authorize("https%3A%2F%2Fother.example.test%2Fapi%2Fauth%2Fcallback"),
            400
        );
    }
}
