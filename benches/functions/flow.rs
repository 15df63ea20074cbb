//! The complete flow through the warm functions, like a browser with a
//! cookie jar: authorize → the emulator's consent page → Allow → callback
//! → user-info; then, timed apart, session, validate-token and signout.
//! Each flow's browser is signed in at the emulator first (its login
//! screen, untimed).
//! testkit's browser, through testkit's [`Functions`]: Vercel's router in
//! front of the six function processes.

use std::sync::Arc;
use std::time::Instant;

use http::Method;
use sign_in_with_vercel::{AUTHORIZE, Route, SESSION, SIGNOUT, USER_INFO, VALIDATE_TOKEN};
use sign_in_with_vercel_emulator::{Emulator, Stats};
use testkit::{Browser, Functions, Page};

use crate::provider::{self, APP_DOMAIN, Provider, Timing};
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
    /// Vercel's router in front of the function processes, over one
    /// keep-alive HTTP client.
    functions: Arc<Functions>,
}

impl Stage {
    /// One request of the browser to the app; it names the app as its
    /// `Origin`, as a browser's request from the app's pages does.
    async fn app(&self, browser: &mut Browser, method: &Method, path: &str) -> Page {
        let url = format!("{APP}{path}");
        let request = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .header("origin", APP)
            .body(Vec::new())
            .expect("a request");
        Page::new(&url, browser.fetch(request).await)
    }

    /// One request to the JSON route `route`; the flow stops unless it
    /// answers 200 with `expect` in the body.
    async fn json_step(&self, browser: &mut Browser, route: &Route, expect: &str) {
        let page = self
            .app(browser, &route.method, route.path(&crate::PATHS))
            .await;
        assert!(
            page.status == 200 && page.body.contains(expect),
            "{}: {} {}",
            page.url,
            page.status,
            page.body
        );
    }

    /// One sign-in, profile view and the rest, like a browser: the step
    /// times go into `times`; returns the provider requests per step.
    async fn flow(&self, times: &mut FlowTimes) -> (StepStats, u64) {
        let mut browser = Browser::new(self.functions.clone());
        // A user signed in at Vercel, untimed: the emulator's login screen
        // answered before the flow, so that the flow sees the consent page.
        let login = browser.get(&format!("{}/login?next=/", self.issuer)).await;
        let signed_in = browser.answer(&login, "allow").await;
        assert_eq!(signed_in.status, 303, "emulator login: {}", signed_in.body);
        let stats = || self.emulator.stats();
        let s0 = stats();
        let p0 = self.timing.snapshot();
        let t0 = Instant::now();

        let start = self
            .app(&mut browser, &Method::GET, AUTHORIZE.path(&crate::PATHS))
            .await;
        let to_provider = start.location().unwrap_or_default();
        assert!(
            start.status == 302 && to_provider.starts_with(&self.issuer),
            "authorize: {} {to_provider}",
            start.status
        );
        let t1 = Instant::now();

        // The same work in every flow: the consent page each time, as a
        // first sign-in sees it (a repeat sign-in is sent straight back).
        let page = browser.get(&format!("{to_provider}&prompt=consent")).await;
        assert_eq!(page.status, 200, "consent page: {}", page.body);
        let t2 = Instant::now();

        let answer = browser.answer(&page, "allow").await;
        let back = answer.location().unwrap_or_default();
        assert!(answer.status == 302, "decision: {}", answer.status);
        let callback = back
            .strip_prefix(APP)
            .unwrap_or_else(|| panic!("decision redirected to {back}"));
        let t3 = Instant::now();

        let done = self.app(&mut browser, &Method::GET, callback).await;
        assert!(
            done.status == 302
                && done.location().as_deref() == Some(crate::PATHS.default_return.as_str()),
            "callback: {} {:?}",
            done.status,
            done.location()
        );
        testkit::assert_session(browser.jar(APP_DOMAIN));
        let t4 = Instant::now();
        let s1 = stats();

        self.json_step(&mut browser, &USER_INFO, "userInfo").await;
        let t5 = Instant::now();
        let p5 = self.timing.snapshot();
        let s2 = stats();

        // Not part of the flow target: the other functions, per session.
        self.json_step(&mut browser, &SESSION, "\"sub\"").await;
        let t6 = Instant::now();
        let s3 = stats();
        self.json_step(&mut browser, &VALIDATE_TOKEN, "Token is valid")
            .await;
        let t7 = Instant::now();
        let s4 = stats();
        self.json_step(&mut browser, &SIGNOUT, "\"revoked\":true")
            .await;
        let t8 = Instant::now();
        let s5 = stats();
        // Only the sign-out's mark is left (`ended.<hash>`): nothing that
        // signs anyone in, nothing kept to retry.
        testkit::assert_only_the_sign_out_mark(browser.jar(APP_DOMAIN));

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
    let running: Vec<testkit::Function> = functions
        .iter()
        .map(|f| testkit::Function {
            path: f.path(),
            exe: &f.exe,
            instances: 1,
        })
        .collect();
    let stage = Stage {
        emulator: provider.emulator.clone(),
        timing: provider.timing.clone(),
        issuer: provider.issuer.clone(),
        functions: Arc::new(Functions::start(APP, &running, &env)),
    };
    // One instance each: (function, its pid).
    let children: Vec<(&'static str, u32)> = functions
        .iter()
        .flat_map(|f| {
            stage
                .functions
                .pids(f.path())
                .into_iter()
                .map(|p| (f.name, p))
        })
        .collect();
    let pids: Vec<u32> = children.iter().map(|(_, p)| *p).collect();
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
            .map(|((name, pid), first)| (*name, first, procfs::status_kb(*pid, "VmHWM")))
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
