//! The complete flow through the warm functions, like a browser with a
//! cookie jar: authorize → the emulator's consent page → Allow → callback
//! → user-info; then, timed apart, session, validate-token and signout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use http::header::{COOKIE, SET_COOKIE};
use sign_in_with_vercel::{
    AUTHORIZE, CALLBACK, Route, SESSION, SESSION_COOKIE, SIGNOUT, USER_INFO, VALIDATE_TOKEN,
};
use sign_in_with_vercel_emulator::{Emulator, Stats};
use testkit::{Jar, Process, decision_form, free_port, location, login_form, request_id_in};

use crate::provider::{self, Provider, Timing};
use crate::quantiles::ms;
use crate::{APP, Function, function_env, procfs};

/// Unmeasured flows first (the first one's provider requests are kept).
pub const WARM_UP: usize = 21;

#[derive(Default)]
pub struct FlowTimes {
    pub total: Vec<f64>,
    pub authorize: Vec<f64>,
    pub consent_page: Vec<f64>,
    pub consent_decision: Vec<f64>,
    pub callback: Vec<f64>,
    pub user_info: Vec<f64>,
    pub session: Vec<f64>,
    pub validate_token: Vec<f64>,
    pub signout: Vec<f64>,
    /// Inside the emulator's handler during the flow (consent, token, userinfo).
    pub provider: Vec<f64>,
    /// The flow minus the above: the functions, HTTP and the client.
    pub rest: Vec<f64>,
    /// The token endpoint alone (ID token signing).
    pub token: Vec<f64>,
}

/// Provider requests around each step of one flow.
#[derive(Default)]
pub struct StepStats {
    pub sign_in: Stats,
    pub profile: Stats,
    pub session: Stats,
    pub validate: Stats,
    pub signout: Stats,
}

impl StepStats {
    fn add(&mut self, other: &StepStats) {
        provider::add(&mut self.sign_in, &other.sign_in);
        provider::add(&mut self.profile, &other.profile);
        provider::add(&mut self.session, &other.session);
        provider::add(&mut self.validate, &other.validate);
        provider::add(&mut self.signout, &other.signout);
    }
}

pub struct FlowResult {
    pub flows: usize,
    pub times: FlowTimes,
    /// The very first flow, on fresh instances.
    pub first: StepStats,
    /// Totals over the timed flows (warm instances).
    pub warm: StepStats,
    /// Most function → provider requests one warm sign-in made.
    pub max_sign_in: u64,
    /// (function, VmRSS after its first response, VmHWM after the flows), KiB.
    pub memory: Vec<(&'static str, u64, u64)>,
    /// Cores other processes used during the timed flows.
    pub other_cores: f64,
}

struct Stage {
    emulator: Arc<Emulator>,
    timing: Arc<Timing>,
    issuer: String,
    client: reqwest::Client,
    ports: HashMap<&'static str, u16>,
    /// The browser's session at the emulator (`name=value`): signed in
    /// once, so that every flow shows the consent page, not the login screen.
    provider_cookie: String,
}

impl Stage {
    fn url(&self, route: &Route, path_and_query: &str) -> String {
        format!(
            "http://127.0.0.1:{}{path_and_query}",
            self.ports[route.path(&crate::PATHS)]
        )
    }

    /// One request; the app's answers update the jar, the provider's do not
    /// (its cookies are not the app's: the provider gets its own session).
    async fn send(
        &self,
        method: Method,
        url: &str,
        jar: &mut Jar,
        body: Option<String>,
    ) -> (u16, http::HeaderMap, String) {
        let mut request = self.client.request(method, url);
        let to_app = !url.starts_with(&self.issuer);
        if to_app {
            if let Some(cookies) = jar.header() {
                request = request.header(COOKIE, cookies);
            }
            request = request.header("origin", APP);
        } else {
            request = request.header(COOKIE, &self.provider_cookie);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        if to_app {
            jar.store(&headers);
        }
        (status, headers, body)
    }

    /// Signs the browser in to the emulator as its first user (its login
    /// screen's one click): the session cookie, `name=value`.
    async fn sign_in_to_the_provider(&self) -> String {
        let user = &self.emulator.users()[0].sub;
        let response = self
            .client
            .post(format!("{}/login", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(login_form(user, "/"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("emulator sign-in: {e}"));
        assert_eq!(response.status().as_u16(), 303, "emulator sign-in");
        response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("the emulator's session cookie")
            .to_owned()
    }

    /// One request to the JSON route `route`; the flow stops unless it
    /// answers 200 with `expect` in the body.
    async fn json_step(&self, route: &Route, jar: &mut Jar, expect: &str) {
        let (status, _, body) = self
            .send(
                route.method.clone(),
                &self.url(route, route.path(&crate::PATHS)),
                jar,
                None,
            )
            .await;
        assert!(
            status == 200 && body.contains(expect),
            "{}: {status} {body}",
            route.path(&crate::PATHS)
        );
    }

    /// One sign-in, profile view and the rest, like a browser: the step
    /// times go into `times`; returns the provider requests per step.
    async fn flow(&self, times: &mut FlowTimes) -> (StepStats, u64) {
        let mut jar = Jar::default();
        let stats = || self.emulator.stats();
        let s0 = stats();
        let p0 = self.timing.snapshot();
        let t0 = Instant::now();

        let (status, headers, _) = self
            .send(
                Method::GET,
                &self.url(&AUTHORIZE, AUTHORIZE.path(&crate::PATHS)),
                &mut jar,
                None,
            )
            .await;
        let to_provider = location(&headers);
        assert!(
            status == 302 && to_provider.starts_with(&self.issuer),
            "authorize: {status} {to_provider}"
        );
        let t1 = Instant::now();

        // The same work in every flow: the consent page each time, as a
        // first sign-in sees it (a repeat sign-in is sent straight back).
        let to_provider = format!("{to_provider}&prompt=consent");
        let (status, _, html) = self.send(Method::GET, &to_provider, &mut jar, None).await;
        assert_eq!(status, 200, "consent page");
        let form = decision_form(
            request_id_in(&html).expect("a request_id in the consent page"),
            "allow",
        );
        let t2 = Instant::now();

        let (status, headers, _) = self
            .send(
                Method::POST,
                &format!("{}/oauth/authorize/decision", self.issuer),
                &mut jar,
                Some(form),
            )
            .await;
        let back = location(&headers);
        assert!(status == 302, "decision: {status}");
        let callback = back
            .strip_prefix(APP)
            .unwrap_or_else(|| panic!("decision redirected to {back}"));
        let t3 = Instant::now();

        let (status, headers, _) = self
            .send(Method::GET, &self.url(&CALLBACK, callback), &mut jar, None)
            .await;
        assert!(
            status == 302
                && location(&headers) == crate::PATHS.default_return
                && !jar.names(SESSION_COOKIE).is_empty(),
            "callback: {status} {}",
            location(&headers)
        );
        let t4 = Instant::now();
        let s1 = stats();

        self.json_step(&USER_INFO, &mut jar, "userInfo").await;
        let t5 = Instant::now();
        let p5 = self.timing.snapshot();
        let s2 = stats();

        // Not part of the flow target: the other functions, per session.
        self.json_step(&SESSION, &mut jar, "\"sub\"").await;
        let t6 = Instant::now();
        let s3 = stats();
        self.json_step(&VALIDATE_TOKEN, &mut jar, "Token is valid")
            .await;
        let t7 = Instant::now();
        let s4 = stats();
        self.json_step(&SIGNOUT, &mut jar, "\"revoked\":true").await;
        let t8 = Instant::now();
        let s5 = stats();
        assert!(jar.is_empty(), "signout left cookies: {jar:?}");

        let d = |a: Instant, b: Instant| ms(b - a);
        times.total.push(d(t0, t5));
        let provider_ms = (p5.0 - p0.0) as f64 / 1e6;
        times.provider.push(provider_ms);
        times.rest.push(d(t0, t5) - provider_ms);
        times.token.push((p5.1 - p0.1) as f64 / 1e6);
        times.authorize.push(d(t0, t1));
        times.consent_page.push(d(t1, t2));
        times.consent_decision.push(d(t2, t3));
        times.callback.push(d(t3, t4));
        times.user_info.push(d(t4, t5));
        times.session.push(d(t5, t6));
        times.validate_token.push(d(t6, t7));
        times.signout.push(d(t7, t8));
        let sign_in = provider::delta(&s1, &s0);
        let total = provider::upstream_total(&sign_in);
        let steps = StepStats {
            sign_in,
            profile: provider::delta(&s2, &s1),
            session: provider::delta(&s3, &s2),
            validate: provider::delta(&s4, &s3),
            signout: provider::delta(&s5, &s4),
        };
        (steps, total)
    }
}

pub fn run(
    functions: &[Function],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    flows: usize,
) -> FlowResult {
    let env = function_env(Some(&provider.issuer));
    let mut children: Vec<(&'static str, Process)> = Vec::new();
    let mut ports = HashMap::new();
    for f in functions {
        let port = free_port();
        let mut child = procfs::spawn(f, port, &env);
        drop(child.connect(port, Duration::from_secs(10)));
        children.push((f.name(), child));
        ports.insert(f.route.path(&crate::PATHS), port);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stage = Stage {
        emulator: provider.emulator.clone(),
        timing: provider.timing.clone(),
        issuer: provider.issuer.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(4)
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client"),
        ports,
        provider_cookie: String::new(),
    };
    let stage = Stage {
        provider_cookie: rt.block_on(stage.sign_in_to_the_provider()),
        ..stage
    };
    let pids: Vec<u32> = children.iter().map(|(_, c)| c.pid()).collect();
    rt.block_on(async {
        // The first flow, on fresh instances: measured for its provider
        // requests only, then the RSS after each function's first response.
        let mut discard = FlowTimes::default();
        let (first, _) = stage.flow(&mut discard).await;
        let rss_first: Vec<u64> = pids
            .iter()
            .map(|p| procfs::status_kb(*p, "VmRSS"))
            .collect();
        for _ in 1..WARM_UP {
            stage.flow(&mut discard).await;
        }
        let mut times = FlowTimes::default();
        let mut warm = StepStats::default();
        let mut max_sign_in = 0;
        let usage = procfs::Usage::start(&pids);
        for _ in 0..flows {
            let (steps, sign_in_total) = stage.flow(&mut times).await;
            max_sign_in = max_sign_in.max(sign_in_total);
            warm.add(&steps);
        }
        let other_cores = usage.other_cores();
        let memory = children
            .iter()
            .zip(rss_first)
            .map(|((name, c), first)| (*name, first, procfs::status_kb(c.pid(), "VmHWM")))
            .collect();
        FlowResult {
            flows,
            times,
            first,
            warm,
            max_sign_in,
            memory,
            other_cores,
        }
    })
}
