// The whole sign-in through `vercel dev`, for .ci/vercel-dev: starts the
// emulator and the pinned CLI's `vercel dev --local` on a prepared clone,
// then walks the flow with a cookie-jar client that follows redirects by
// hand and checks every step, as a browser would see it:
//
//   signed out: the three JSON functions answer 401 (sign-out also 405 on GET)
//   Cancel (first, on a fresh emulator, so the consent page is certain):
//     authorize -> login screen (the emulator has not seen this browser:
//     choose USER_SUB) -> consent page -> Cancel -> callback
//     -> /auth/error?error=access_denied
//   Allow: authorize -> consent page (or straight back, when the emulator
//     remembers the consent) -> callback -> /profile
//     user-info 200, validate-token 200, a cross-origin sign-out 403
//     sign-out (same origin) 200 -> user-info and validate-token 401
//   sign in again (the emulator may now skip its consent page), sign out
//   the per-request cost of a function, next to a static file
//   the refresh burst (last): the emulator restarted with access tokens of
//     BURST_ACCESS_TOKEN_TTL seconds and `revoke_grant` for a reused refresh
//     token; sign in, wait past the access token's expiry, send BURST
//     requests at once (session, user-info, validate-token) with the same
//     cookie: each is a process of its own under `vercel dev`, so only the
//     store (Redis, REDIS_URL in .env) lets them share one refresh. Every
//     answer 200 naming the user, one call of the token endpoint (the
//     emulator's /_emulator/stats), the same new session in every answer
//     that sets one, and signed in afterwards whether the answers' cookies
//     are applied in the order they arrived or in the reverse order
//
// Only the issuer and its login and consent pages are known in advance: the other
// endpoints are the emulator's business, and cookie names are the app's.
// Prints `ok`/`FAIL` lines; exits 1 when anything failed.
//
// Environment (all set by .ci/vercel-dev): VERCEL (the CLI), CLONE,
// VERCEL_GLOBAL (the CLI's global config dir), EMULATOR (its binary),
// EMULATOR_CONFIG, EMULATOR_PORT, EMULATOR_API_PORT, APP_PORT,
// QUEUE_PORT, RUNTIME_CACHE_PORT, SCHEDULES_PORT, LOG_DIR, CLIENT_ID,
// USER_SUB, REDIS_PORT (empty: no store, the burst is expected to fail),
// plus CARGO_TARGET_DIR and the rest of the environment for the CLI and
// cargo.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) fatal(`${name} is not set`);
  return value;
};
const VERCEL = env("VERCEL");
const CLONE = env("CLONE");
const LOG_DIR = env("LOG_DIR");
const APP = `http://localhost:${env("APP_PORT")}`;
const ISSUER = `http://127.0.0.1:${env("EMULATOR_PORT")}`;
const CLIENT_ID = env("CLIENT_ID");
const USER_SUB = env("USER_SUB");
// The store's port on 127.0.0.1, or none (VERCEL_DEV_NO_STORE).
const REDIS_PORT = process.env.REDIS_PORT || null;
// The functions: every [[bin]] of Cargo.toml under api/ (a unit test ties
// that list to the library's route table).
const FUNCTIONS = fs
  .readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8")
  .split("\n")
  .map((line) => /^path = "(api\/.*)\.rs"$/.exec(line.trim()))
  .filter(Boolean)
  .map((m) => `/${m[1]}`);
// A request through `vercel dev` builds (a no-op cargo build) and starts a
// process; the first one of each function also compiles nothing, since the
// binaries are built beforehand. 60 s leaves room for a loaded machine.
const REQUEST_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 180_000;
const COST_SAMPLES = 7;
// The burst: its size, its routes (taken in turn), and the life of the
// access tokens of the emulator it runs against. A refresh is due when a
// quarter of that life is left; the life must outlast the burst and the
// checks after it (a dozen requests through `vercel dev`), so that none of
// them refreshes again.
const BURST = 8;
const BURST_ROUTES = ["/api/auth/session", "/api/user-info", "/api/validate-token"];
const BURST_ACCESS_TOKEN_TTL = 20;

let passed = 0;
let failed = 0;
const ok = (what) => {
  passed += 1;
  console.log(`  ok    ${what}`);
};
const bad = (what) => {
  failed += 1;
  console.log(`  FAIL  ${what}`);
};
const check = (condition, what, detail = "") => {
  if (condition) ok(what);
  else bad(detail ? `${what} [${detail}]` : what);
  return condition;
};
// A failure the flow cannot go on after.
function fatal(message) {
  bad(message);
  throw new Fatal(message);
}
class Fatal extends Error {}
const started = Date.now();
// Headings numbered under the script's own phase (FLOW_PHASE): 4.1, 4.2…
let phases = 0;
const phase = (name) => {
  phases += 1;
  console.log(`\n== ${process.env.FLOW_PHASE ? `${process.env.FLOW_PHASE}.` : ""}${phases} ${name} (t=${Math.round((Date.now() - started) / 1000)}s)`);
};

// --- processes ---------------------------------------------------------

const children = [];
function start(name, command, args, options) {
  const log = fs.openSync(path.join(LOG_DIR, `${name}.log`), "w");
  // Its own process group, so that what it starts (the Rust dev servers of
  // `vercel dev`) goes with it.
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", log, log] });
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal || code)));
  child.on("error", (error) => fs.appendFileSync(path.join(LOG_DIR, `${name}.log`), `spawn error: ${error}\n`));
  children.push({ name, child });
  return child;
}
// Stops a child and what it started (its process group): TERM, then KILL
// after 10 s.
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
  const gone = await Promise.race([child.exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!gone) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    await child.exited;
  }
}
async function stopAll() {
  for (const { child } of children.reverse()) await stop(child);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function showLog(name, lines = 40) {
  const file = path.join(LOG_DIR, `${name}.log`);
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const tail = text.trimEnd().split("\n").slice(-lines);
  console.log(`  --- last ${tail.length} lines of the ${name} log (${file}):`);
  for (const line of tail) console.log(`    | ${line}`);
}
async function waitFor(name, child, url, wantStatus) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      showLog(name);
      fatal(`${name} exited (${child.exitCode ?? child.signalCode}) before answering ${url}`);
    }
    try {
      const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.status === wantStatus) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error.cause?.code || error.message);
    }
    await sleep(250);
  }
  showLog(name);
  fatal(`${name}: ${url} did not answer ${wantStatus} within ${START_TIMEOUT_MS / 1000} s (last: ${last})`);
}

// One command to the store, in Redis's inline form; its answer as RESP
// reads it: a string (`+`/`$`), a number, null, an array, or an Error
// (`-`). Rejects when the store does not answer in full within 5 s.
function redis(command) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: Number(REDIS_PORT) });
    let buffer = Buffer.alloc(0);
    socket.setTimeout(5_000, () => socket.destroy(new Error("no answer within 5 s")));
    socket.on("error", reject);
    // Closed before a whole answer (after one, this rejects nothing).
    socket.on("close", () => reject(new Error("closed without a whole answer")));
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (data) => {
      buffer = Buffer.concat([buffer, data]);
      const parsed = parseResp(buffer, 0);
      if (parsed) {
        socket.end();
        resolve(parsed.value);
      }
    });
  });
}
// A RESP value at `at` in `buffer`: {value, next}, or null while incomplete.
function parseResp(buffer, at) {
  const eol = buffer.indexOf("\r\n", at);
  if (eol < 0) return null;
  const line = buffer.toString("utf8", at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buffer[at])) {
    case "+":
      return { value: line, next };
    case "-":
      return { value: new Error(line), next };
    case ":":
      return { value: Number(line), next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, next };
      if (buffer.length < next + length + 2) return null;
      return { value: buffer.toString("utf8", next, next + length), next: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, next };
      const values = [];
      let cursor = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buffer, cursor);
        if (!item) return null;
        values.push(item.value);
        cursor = item.next;
      }
      return { value: values, next: cursor };
    }
    default:
      return { value: new Error(`not RESP: ${line}`), next };
  }
}
async function waitForRedis() {
  const deadline = Date.now() + 10_000;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const pong = await redis("PING");
      if (pong === "PONG") return checkOwnRedis();
      last = String(pong);
    } catch (error) {
      last = String(error.code || error.message);
    }
    await sleep(100);
  }
  showLog("redis", 20);
  fatal(`redis-server on 127.0.0.1:${REDIS_PORT} did not answer PING within 10 s (last: ${last})`);
}

// The Redis that answers is the one this run started (its pid file, its
// port), not another that took the port first: redis-server daemonizes
// before it binds, so its start does not say whether it could.
async function checkOwnRedis() {
  const pidFile = process.env.REDIS_PID_FILE;
  const info = String(await redis("INFO server"));
  const field = (name) => info.match(new RegExp(`^${name}:(\\S+)`, "m"))?.[1];
  const ours = pidFile && fs.existsSync(pidFile) ? fs.readFileSync(pidFile, "utf8").trim() : null;
  if (!ours || field("process_id") !== ours || field("tcp_port") !== String(REDIS_PORT)) {
    showLog("redis", 20);
    fatal(`the Redis answering on 127.0.0.1:${REDIS_PORT} is not this run's (process ${field("process_id")}, port ${field("tcp_port")}; ours: ${ours ?? "no pid file"})`);
  }
}

// --- a cookie-jar client that follows nothing by itself ---------------

const jar = new Map(); // hostname -> Map(name -> {value, path, expires})
// One Set-Cookie line: {name, value, path, expires}, or null.
function parseSetCookie(line) {
  const [pair, ...attributes] = line.split(";").map((part) => part.trim());
  const eq = pair.indexOf("=");
  if (eq <= 0) return null;
  const cookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), path: "/", expires: Infinity };
  for (const attribute of attributes) {
    const [key, ...rest] = attribute.split("=");
    const value = rest.join("=");
    switch (key.toLowerCase()) {
      case "path":
        cookie.path = value || "/";
        break;
      case "max-age":
        cookie.expires = Date.now() + Number(value) * 1000;
        break;
      case "expires":
        if (cookie.expires === Infinity) cookie.expires = Date.parse(value);
        break;
    }
  }
  return cookie;
}
function storeCookies(url, response) {
  const host = new URL(url).hostname;
  const cookies = jar.get(host) ?? new Map();
  jar.set(host, cookies);
  for (const line of response.headers.getSetCookie()) {
    const cookie = parseSetCookie(line);
    if (!cookie) continue;
    const { name, ...kept } = cookie;
    if (cookie.expires <= Date.now()) cookies.delete(name);
    else cookies.set(name, kept);
  }
}
// A copy of the jar, and putting one back.
const jarCopy = () => new Map([...jar].map(([host, cookies]) => [host, new Map([...cookies].map(([name, c]) => [name, { ...c }]))]));
function restoreJar(copy) {
  jar.clear();
  for (const [host, cookies] of copy) jar.set(host, new Map([...cookies].map(([name, c]) => [name, { ...c }])));
}
function cookieHeader(url) {
  const { hostname, pathname } = new URL(url);
  const pairs = [];
  for (const [name, cookie] of jar.get(hostname) ?? []) {
    if (cookie.expires <= Date.now()) continue;
    const p = cookie.path;
    if (pathname === p || pathname.startsWith(p.endsWith("/") ? p : `${p}/`)) pairs.push(`${name}=${cookie.value}`);
  }
  return pairs.join("; ");
}
// The app's live cookies whose name is `base` (a family: `oauth_flow`,
// `session`) with or without the __Host- prefix; other families (a sign-out's
// `ended.<mark>`) do not count.
const appCookieCount = (base) =>
  [...(jar.get(new URL(APP).hostname) ?? new Map()).entries()].filter(
    ([name, c]) => c.expires > Date.now() && new RegExp(`^(__Host-)?${base}\\.`).test(name),
  ).length;

const timings = new Map(); // function path -> [seconds]
const answered = new Map(); // function path -> statuses seen
// `keepCookies: false` leaves the answer's Set-Cookie out of the jar (the
// burst applies them itself, in the orders it checks).
async function request(method, url, { form, headers = {}, keepCookies = true } = {}) {
  const target = new URL(url, APP).toString();
  const cookie = cookieHeader(target);
  const init = { method, redirect: "manual", headers: { ...headers }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (cookie) init.headers.cookie = cookie;
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const t0 = performance.now();
  let response;
  try {
    response = await fetch(target, init);
  } catch (error) {
    fatal(`${method} ${target}: ${error.cause?.code || error.message}`);
  }
  const body = await response.text();
  const seconds = (performance.now() - t0) / 1000;
  if (keepCookies) storeCookies(target, response);
  const { origin, pathname } = new URL(target);
  if (origin === APP && FUNCTIONS.includes(pathname)) {
    (timings.get(pathname) ?? timings.set(pathname, []).get(pathname)).push(seconds);
    // A function that ran answers with its own status; 502 is `vercel dev`'s.
    if (response.status !== 502) (answered.get(pathname) ?? answered.set(pathname, new Set()).get(pathname)).add(response.status);
  }
  let json;
  try {
    json = JSON.parse(body);
  } catch {}
  const location = response.headers.get("location");
  return {
    url: target,
    status: response.status,
    headers: response.headers,
    body,
    json,
    seconds,
    location: location ? new URL(location, target).toString() : null,
    show() {
      return `${method} ${target} -> ${response.status}${location ? ` location ${location}` : ""}${body ? ` body ${body.slice(0, 160).replace(/\s+/g, " ")}` : ""}`;
    },
  };
}
const get = (url, options) => request("GET", url, options);
const post = (url, form, options) => request("POST", url, { ...options, form });
const isJson = (r) => /^application\/json/.test(r.headers.get("content-type") || "") && r.json && typeof r.json === "object";

// The emulator's consent form: action, hidden fields, the checked user,
// and the decision buttons.
function consentForm(page) {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
  if (!form) return null;
  const attr = (tag, name) => {
    const m = new RegExp(`\\b${name}="([^"]*)"`, "i").exec(tag);
    return m ? m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&") : null;
  };
  const formTag = /<form\b[^>]*>/i.exec(form[0])[0];
  const fields = {};
  for (const [input] of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const type = (attr(input, "type") || "text").toLowerCase();
    const name = attr(input, "name");
    if (!name) continue;
    if (type === "hidden" || ((type === "radio" || type === "checkbox") && /\bchecked\b/i.test(input))) {
      fields[name] = attr(input, "value") ?? "";
    }
  }
  const buttons = {};
  const choices = [];
  for (const [button, label] of form[1].matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/gi)) {
    const name = attr(button, "name");
    if (!name) continue;
    const choice = { name, value: attr(button, "value") ?? "" };
    buttons[label.replace(/<[^>]*>/g, "").trim()] = choice;
    choices.push(choice);
  }
  return { action: new URL(attr(formTag, "action") || page.url, page.url).toString(), fields, buttons, choices };
}

// --- the flow ----------------------------------------------------------

let discovery;

// authorize -> the emulator. Returns the emulator's answer: its consent
// page, or a redirect straight back to the callback.
async function startSignIn(what) {
  const authorize = await get("/api/auth/authorize");
  const to = authorize.location || "";
  check(
    authorize.status === 302 && to.startsWith(`${discovery.authorization_endpoint}?`),
    `${what}: authorize -> 302 to the emulator's authorization endpoint`,
    authorize.show(),
  );
  const params = new URL(to || "http://invalid/").searchParams;
  check(
    params.get("client_id") === CLIENT_ID &&
      params.get("redirect_uri") === `${APP}/api/auth/callback` &&
      params.get("code_challenge_method") === "S256" &&
      params.get("state") &&
      params.get("nonce"),
    `${what}: authorize asks for our client, the callback on the vercel dev origin, PKCE S256, state and nonce`,
    to,
  );
  check(appCookieCount("oauth_flow") > 0, `${what}: authorize set a flow cookie`, authorize.headers.getSetCookie().join(" | ") || "no set-cookie");
  if (!to.startsWith(ISSUER)) fatal(`${what}: cannot go on without a redirect to the emulator`);
  return get(to);
}

// The emulator's login screen, shown to a browser it has not seen (Vercel's
// Authorization Server API reference: "If the user is not logged in, Vercel
// will show a login screen"): choose USER_SUB, then the authorization request
// again. Any other answer is returned as it is.
async function throughLogin(what, answer) {
  const form = answer.status === 200 ? consentForm(answer) : null;
  if (!form || new URL(form.action).pathname !== "/login") return answer;
  const user = form.choices.find((c) => c.name === "user" && c.value === USER_SUB);
  if (!check(Boolean(user), `${what}: the emulator's login screen offers ${USER_SUB}`, answer.show())) {
    fatal(`${what}: cannot sign in at the emulator`);
  }
  const loggedIn = await post(form.action, { ...form.fields, [user.name]: user.value });
  const next = loggedIn.location || "";
  if (
    !check(
      loggedIn.status >= 300 && loggedIn.status < 400 && next.startsWith(`${discovery.authorization_endpoint}?`),
      `${what}: signed in at the emulator, back to the authorization request`,
      loggedIn.show(),
    )
  ) {
    fatal(`${what}: the emulator's login did not lead back to the authorization request`);
  }
  return get(next);
}

// The emulator's answer -> its login screen (when it shows one) -> submit
// `decision` on its consent page (when it shows one) -> the redirect back
// to our callback, checked.
async function decide(what, answer, decision) {
  const emulatorAnswer = await throughLogin(what, answer);
  let back = emulatorAnswer;
  let consentShown = false;
  if (emulatorAnswer.status === 200) {
    const form = consentForm(emulatorAnswer);
    const button = form?.buttons[decision];
    if (!check(Boolean(button), `${what}: the emulator shows its consent page with ${decision}`, emulatorAnswer.show())) {
      fatal(`${what}: no ${decision} button on the consent page`);
    }
    consentShown = true;
    back = await post(form.action, { ...form.fields, [button.name]: button.value });
  }
  const location = back.location || "";
  if (
    !check(
      back.status >= 300 && back.status < 400 && location.startsWith(`${APP}/api/auth/callback?`),
      `${what}: the emulator redirects to the callback${consentShown ? ` after ${decision}` : " at once (consent remembered)"}`,
      back.show(),
    )
  ) {
    fatal(`${what}: cannot go on without the redirect to the callback`);
  }
  return { callbackUrl: location, consentShown };
}

async function signedOut(what) {
  const session = await get("/api/auth/session");
  check(session.status === 200 && isJson(session) && session.json.user === null, `${what}: session -> 200 {"user": null}`, session.show());
  const userInfo = await get("/api/user-info");
  check(userInfo.status === 401 && isJson(userInfo) && typeof userInfo.json.error === "string", `${what}: user-info -> 401 JSON error`, userInfo.show());
  const validate = await get("/api/validate-token");
  check(validate.status === 401 && isJson(validate) && typeof validate.json.error === "string", `${what}: validate-token -> 401 JSON error`, validate.show());
}

async function signIn(what) {
  const { callbackUrl, consentShown } = await decide(what, await startSignIn(what), "Allow");
  const params = new URL(callbackUrl).searchParams;
  check(params.get("code") && params.get("state"), `${what}: the callback gets a code and the state`, callbackUrl);
  const callback = await get(callbackUrl);
  check(callback.status === 302 && callback.location === `${APP}/profile`, `${what}: callback -> 302 to /profile`, callback.show());
  check(appCookieCount("session") > 0, `${what}: callback set the session cookies`);
  const session = await get("/api/auth/session");
  check(session.status === 200 && isJson(session) && session.json.user?.sub === USER_SUB, `${what}: session -> 200 {"user": {"sub": "${USER_SUB}"}} from the cookie`, session.show());
  const profile = await get(callback.location || "/profile");
  check(profile.status === 200 && /<html/i.test(profile.body), `${what}: /profile is served (public/profile.html, clean URL)`, profile.show());
  const userInfo = await get("/api/user-info");
  check(
    userInfo.status === 200 && isJson(userInfo) && userInfo.json.userInfo?.sub === USER_SUB && typeof userInfo.json.userInfo?.email === "string",
    `${what}: user-info -> 200 {"userInfo": {"sub": "${USER_SUB}", "email": ...}}`,
    userInfo.show(),
  );
  return consentShown;
}

async function signOut(what) {
  const signout = await post("/api/auth/signout", {}, { headers: { origin: APP } });
  check(
    signout.status === 200 && isJson(signout) && signout.json.signedOut === true && signout.json.revoked === true,
    `${what}: sign-out (POST, same origin) -> 200 {"signedOut": true, "revoked": true}`,
    signout.show(),
  );
  await signedOut(`${what}, then`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Starts the emulator (logging to `<name>.log`) with `settings` (its
// EMULATOR_* variables) over the configuration file, and reads its
// discovery document.
async function startEmulator(name, settings = {}) {
  const emulator = start(name, env("EMULATOR"), [], {
    env: { ...process.env, EMULATOR_PORT: env("EMULATOR_PORT"), EMULATOR_API_PORT: env("EMULATOR_API_PORT"), EMULATOR_CONFIG: env("EMULATOR_CONFIG"), ...settings },
  });
  await waitFor(name, emulator, `${ISSUER}/.well-known/openid-configuration`, 200);
  discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
  check(discovery.issuer === ISSUER && typeof discovery.authorization_endpoint === "string", `${name}: issuer ${ISSUER}, discovery answers`, JSON.stringify(discovery).slice(0, 200));
  return emulator;
}

// How often the emulator's token endpoint has been called.
async function tokenCalls() {
  const response = await fetch(`${ISSUER}/_emulator/stats`, { signal: AbortSignal.timeout(5_000) });
  const stats = await response.json();
  if (response.status !== 200 || typeof stats.token !== "number") fatal(`the emulator's stats: ${response.status} ${JSON.stringify(stats)}`);
  return stats.token;
}

// The user an identity route's JSON answer names: the session's `user`,
// user-info's `userInfo`, validate-token's `tokenInfo`.
const namedUser = (answer) => (isJson(answer) ? (answer.json.user ?? answer.json.userInfo ?? answer.json.tokenInfo)?.sub : undefined);
// The app's session cookies an answer sets (not those it deletes), as
// sorted `name=value` pairs: one generation, `session.<id>.<n>`.
const sessionSet = (answer) =>
  answer.headers
    .getSetCookie()
    .map(parseSetCookie)
    .filter((c) => c && /^(__Host-)?session\./.test(c.name) && c.expires > Date.now())
    .map((c) => `${c.name}=${c.value}`)
    .sort();

// The cross-instance refresh burst (see the top of this file).
async function refreshBurst(emulator) {
  await stop(emulator);
  const restarted = await startEmulator("emulator-burst", { EMULATOR_ACCESS_TOKEN_TTL: String(BURST_ACCESS_TOKEN_TTL), EMULATOR_REFRESH_TOKEN_REUSE: "revoke_grant" });
  console.log(`  (the emulator restarted: access tokens of ${BURST_ACCESS_TOKEN_TTL} s, revoke_grant on a reused refresh token; store: ${REDIS_PORT ? `Redis on 127.0.0.1:${REDIS_PORT}` : "NONE"})`);
  await signIn("burst");
  // Every token the jar holds was issued before the sign-in's last answer.
  const wait = BURST_ACCESS_TOKEN_TTL + 2;
  console.log(`  (waiting ${wait} s, past the access token's expiry)`);
  await sleep(wait * 1000);

  const before = jarCopy();
  const oldSession = new Set([...(before.get(new URL(APP).hostname) ?? new Map()).keys()].filter((name) => /^(__Host-)?session\./.test(name)));
  const callsBefore = await tokenCalls();
  const arrived = [];
  const t0 = performance.now();
  // All at once, each with the same cookie; kept in the order they arrive.
  await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      get(BURST_ROUTES[i % BURST_ROUTES.length], { keepCookies: false }).then((answer) => {
        arrived.push(answer);
      }),
    ),
  );
  const took = (performance.now() - t0) / 1000;
  const calls = (await tokenCalls()) - callsBefore;
  console.log(`  ${BURST} requests at once, all answered in ${took.toFixed(1)} s; in the order they arrived:`);
  for (const a of arrived) {
    console.log(`    ${new URL(a.url).pathname} ${a.status} after ${a.seconds.toFixed(2)} s${a.status === 200 ? ` (user ${namedUser(a)})` : ` ${a.body.slice(0, 100).replace(/\s+/g, " ")}`}`);
  }
  console.log(`  token calls during the burst: ${calls}`);
  const statuses = arrived.map((a) => `${new URL(a.url).pathname} ${a.status}`).join(", ");
  check(
    arrived.every((a) => a.status === 200 && namedUser(a) === USER_SUB),
    `burst: all ${BURST} answers 200, each naming ${USER_SUB}`,
    statuses,
  );
  check(calls === 1, "burst: the emulator's token endpoint was called once for the whole burst", `${calls} token calls`);
  const sets = arrived.map(sessionSet).filter((set) => set.length > 0);
  const distinct = new Set(sets.map((set) => set.join("; ")));
  check(
    sets.length > 0 && distinct.size === 1 && sets[0].every((pair) => !oldSession.has(pair.slice(0, pair.indexOf("=")))),
    `burst: the ${sets.length} answers that set a session set the very same new one`,
    `${distinct.size} distinct sessions set by ${sets.length} answers`,
  );
  if (REDIS_PORT) {
    // <prefix>:<app>:<kind>:<hash>; kind `o` is a refresh's published outcome.
    const keys = await redis("KEYS *");
    const outcomes = Array.isArray(keys) ? keys.filter((k) => k.split(":")[2] === "o") : [];
    check(outcomes.length > 0, "burst: the refresh's outcome is published in the store", JSON.stringify(keys).slice(0, 300));
  }

  const callsAfterBurst = await tokenCalls();
  for (const [order, answers] of [
    ["in the order they arrived", arrived],
    ["in the reverse order", [...arrived].reverse()],
  ]) {
    restoreJar(before);
    for (const a of answers) storeCookies(a.url, a);
    const session = await get("/api/auth/session");
    check(
      session.status === 200 && namedUser(session) === USER_SUB,
      `burst, its cookies applied ${order}: session -> 200 {"user": {"sub": "${USER_SUB}"}}`,
      session.show(),
    );
    const userInfo = await get("/api/user-info");
    check(userInfo.status === 200 && namedUser(userInfo) === USER_SUB, `burst, its cookies applied ${order}: user-info -> 200 (the grant lives)`, userInfo.show());
  }
  console.log(`  token calls during the checks after the burst: ${(await tokenCalls()) - callsAfterBurst}`);
  return restarted;
}

async function main() {
  phase("emulator, Redis and vercel dev");
  if (REDIS_PORT) {
    await waitForRedis();
    ok(`redis-server answers PING on 127.0.0.1:${REDIS_PORT} (REDIS_URL of the functions)`);
  } else {
    console.log("  no store (VERCEL_DEV_NO_STORE=1): the refresh burst is expected to fail");
  }
  const emulator = await startEmulator("emulator");

  const cliEnv = { ...process.env, VERCEL_TELEMETRY_DISABLED: "1", CARGO_NET_OFFLINE: "true", FORCE_COLOR: "0", NO_COLOR: "1" };
  for (const name of ["VERCEL_ORG_ID", "VERCEL_PROJECT_ID", "VERCEL_TOKEN", "VERCEL_ENV", "VERCEL_APP_CLIENT_ID", "VERCEL_APP_CLIENT_SECRET", "VERCEL_OAUTH_ISSUER", "AUTH_SECRET", "APP_URL", "REDIS_URL"]) {
    delete cliEnv[name];
  }
  const t0 = Date.now();
  const vercel = start(
    "vercel-dev",
    VERCEL,
    ["dev", "--local", "--yes", "--listen", env("APP_PORT"), "--queue-port", env("QUEUE_PORT"), "--runtime-cache-port", env("RUNTIME_CACHE_PORT"), "--schedules-port", env("SCHEDULES_PORT"), "-Q", env("VERCEL_GLOBAL")],
    { cwd: CLONE, env: cliEnv },
  );
  await waitFor("vercel-dev", vercel, `${APP}/`, 200);
  ok(`vercel dev --local answers ${APP}/ (public/index.html) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  phase("signed out");
  await signedOut("signed out");
  const signoutGet = await get("/api/auth/signout");
  check(signoutGet.status === 405 && isJson(signoutGet), "signed out: sign-out GET -> 405 JSON", signoutGet.show());
  const signoutPost = await post("/api/auth/signout", {}, { headers: { origin: APP } });
  check(signoutPost.status === 401 && isJson(signoutPost), "signed out: sign-out POST -> 401 JSON", signoutPost.show());

  phase("Cancel (a fresh emulator: its consent page)");
  const { callbackUrl, consentShown } = await decide("Cancel", await startSignIn("Cancel"), "Cancel");
  check(consentShown, "Cancel: the consent page was shown");
  check(new URL(callbackUrl).searchParams.get("error") === "access_denied", "Cancel: the callback gets error=access_denied", callbackUrl);
  const cancelled = await get(callbackUrl);
  check(
    cancelled.status === 302 && cancelled.location?.startsWith(`${APP}/auth/error?`) && new URL(cancelled.location).searchParams.get("error") === "access_denied",
    "Cancel: callback -> 302 to /auth/error?error=access_denied",
    cancelled.show(),
  );
  const errorPage = await get(cancelled.location || "/auth/error?error=access_denied");
  check(errorPage.status === 200 && /<html/i.test(errorPage.body), "Cancel: the error page is served (public/auth/error.html)", errorPage.show());
  await signedOut("after Cancel");

  phase("Allow: sign in, use the session, sign out");
  await signIn("Allow");
  const validate = await get("/api/validate-token");
  check(
    validate.status === 200 && isJson(validate) && typeof validate.json.message === "string" && validate.json.tokenInfo?.active === true && validate.json.tokenInfo?.client_id === CLIENT_ID,
    `validate-token -> 200 {"message": ..., "tokenInfo": {"active": true, "client_id": "${CLIENT_ID}"}}`,
    validate.show(),
  );
  const crossOrigin = await post("/api/auth/signout", {}, { headers: { origin: "https://attacker.example" } });
  check(crossOrigin.status === 403 && isJson(crossOrigin), "sign-out from another origin -> 403 JSON", crossOrigin.show());
  const stillIn = await get("/api/user-info");
  check(stillIn.status === 200, "still signed in after the refused sign-out", stillIn.show());
  await signOut("sign-out");

  phase("sign in again (the emulator may remember the consent)");
  const shownAgain = await signIn("again");
  console.log(`  (the emulator ${shownAgain ? "showed its consent page again" : "remembered the consent: no page"})`);
  await signOut("again, sign-out");

  phase("each function answered through vercel dev");
  for (const fn of FUNCTIONS) {
    const statuses = [...(answered.get(fn) ?? [])].sort();
    check(statuses.length > 0, `${fn} answered (statuses ${statuses.join(", ") || "none"})`);
  }

  phase("per-request cost");
  // Fresh samples of the cheapest function answer (signed out: no provider
  // call) and of a static file, one after the other.
  const fnTimes = [];
  const staticTimes = [];
  for (let i = 0; i < COST_SAMPLES; i++) {
    fnTimes.push((await get("/api/user-info")).seconds);
    staticTimes.push((await get("/app.js")).seconds);
  }
  const all = [...timings.values()].flat();
  const fmt = (s) => `${s.toFixed(2)} s`;
  console.log(`  GET /api/user-info (signed out, no provider call), ${COST_SAMPLES} runs: median ${fmt(median(fnTimes))}, min ${fmt(Math.min(...fnTimes))}, max ${fmt(Math.max(...fnTimes))}`);
  console.log(`  GET /app.js (static), ${COST_SAMPLES} runs: median ${(median(staticTimes) * 1000).toFixed(0)} ms`);
  console.log(`  every function request of this run (${all.length}): median ${fmt(median(all))}, max ${fmt(Math.max(...all))}`);
  console.log("  (per request: rustup/cargo checks, `cargo build` and `cargo metadata`, a fresh process, killed after the answer)");
  check(median(fnTimes) > median(staticTimes), "a function request costs more than a static file (the builder's per-request work)");

  phase(`refresh burst: ${BURST} instances at once at the access token's expiry, ${REDIS_PORT ? "with" : "WITHOUT"} the store`);
  await refreshBurst(emulator);
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.log(`\n  stopped by ${signal}`);
    stopAll().finally(() => process.exit(1));
  });
}

try {
  await main();
} catch (error) {
  if (!(error instanceof Fatal)) {
    console.log(`  FAIL  ${error.stack || error}`);
    failed += 1;
  }
} finally {
  if (failed > 0) {
    showLog("vercel-dev");
    showLog("emulator", 20);
    if (children.some(({ name }) => name === "emulator-burst")) showLog("emulator-burst", 20);
  }
  await stopAll();
}
console.log(`\nvercel-dev flow: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
