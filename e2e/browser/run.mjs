// Real-browser end-to-end test: Chromium, driven by playwright-core,
// through the app and the emulator's pages. Run by `cargo test --test
// browser`, which starts the dev server's stack (what `cargo run` starts)
// with a short access token lifetime, passes its URL, and sets the
// emulator's faults when this script asks: it prints `@emulator <fault>`
// and waits for `ok` on its stdin (see tests/browser.rs). Run it that way;
// `HEADED=1 cargo test --test browser` shows the browser.
//
// Environment: APP_URL (required), SCREENSHOT_DIR (default ./screenshots),
// CHROMIUM (which Chromium: see chromium.mjs; by default the system's, else
// the one inside the npm package @sparticuz/chromium), HEADED=1 to watch.
//
// Prints each step; exits 1 with a message on the first failure.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";
import { findChromium } from "./chromium.mjs";

const APP_URL = (process.env.APP_URL || "").replace(/\/+$/, "");
const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR || "screenshots");
const TIMEOUT_MS = 10_000;
// The test sleeps until the access token has expired; refuse to wait for a
// production-length token.
const MAX_TOKEN_TTL_S = 30;

if (!APP_URL) fail("APP_URL is not set (e.g. APP_URL=http://localhost:3000)");
const { path: CHROMIUM, source: CHROMIUM_SOURCE } = await findChromium().catch((error) => fail(error.message));
const APP_ORIGIN = new URL(APP_URL).origin;

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

function fail(message) {
  console.error(`\nFAIL: ${message}`);
  process.exit(1);
}

class StepError extends Error {}
const check = (ok, message) => {
  if (!ok) throw new StepError(message);
};

// Runs `body` while the answer to `url` is held back (the page shows its
// busy state meanwhile), then lets it through: that answer, or the error
// that came instead (caught, so that the step reports it as its own).
async function whileHeld(page, url, body) {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const hold = async (route) => {
    await gate;
    await route.continue();
  };
  const answer = page.waitForResponse((r) => r.url() === url).catch((e) => e);
  await page.route(url, hold);
  try {
    await body();
  } finally {
    release();
  }
  const response = await answer;
  await page.unroute(url, hold);
  return response;
}

// A description list's rows, as { term: description }.
async function rowsOf(list) {
  return list.evaluate((dl) => {
    const out = {};
    for (const dt of dl.querySelectorAll("dt")) out[dt.textContent.trim()] = dt.nextElementSibling?.textContent.trim();
    return out;
  });
}

// --- The emulator's faults, set by the test that runs this script. ---

const answers = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// Asks the test to set `fault` (see tests/browser.rs) and waits until it is
// in force.
async function emulatorFault(fault) {
  console.log(`@emulator ${fault}`);
  const { value, done } = await answers.next();
  check(
    !done && value === "ok",
    `the emulator's fault "${fault}" was not set (${done ? "no answer: run this script with cargo test --test browser" : value})`,
  );
}

// --- Problems seen anywhere: console errors (CSP violations among them),
// page errors, failed requests to the app, unexpected HTTP errors. ---

const problems = [];
let reportedProblems = 0;
// No 4xx is expected from the pages: they ask /api/auth/session, which
// answers 200 {"user": null} when signed out, so a signed-out visitor's
// console stays clean. The test's own probes go through context.request,
// which no page sees.

function watch(page) {
  const where = () => page.url();
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const url = msg.location()?.url || "";
    const kind = /Content Security Policy/i.test(text) ? "CSP violation" : "console error";
    problems.push(`${kind} on ${where()}: ${text}${url ? ` (${url})` : ""}`);
  });
  page.on("pageerror", (error) => problems.push(`page error on ${where()}: ${error.message}`));
  const answered = new WeakSet();
  page.on("requestfailed", (request) => {
    if (new URL(request.url()).origin !== APP_ORIGIN) return;
    // A response whose body the page never read (app.js ignores the body
    // of a 401) stays open until the page navigates away, and then counts
    // as aborted: not a failure.
    if (answered.has(request) && request.failure()?.errorText === "net::ERR_ABORTED") return;
    problems.push(
      `request failed on ${where()}: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`,
    );
  });
  page.on("response", (response) => {
    answered.add(response.request());
    const status = response.status();
    if (status < 400 || new URL(response.url()).origin !== APP_ORIGIN) return;
    problems.push(`HTTP ${status} on ${where()}: ${response.request().method()} ${response.url()}`);
  });
}

function track(page) {
  if (pages.has(page)) return;
  pages.add(page);
  watch(page);
}

function checkProblems() {
  const fresh = problems.slice(reportedProblems);
  reportedProblems = problems.length;
  check(fresh.length === 0, `the browser reported problems:\n  - ${fresh.join("\n  - ")}`);
}

// --- Steps ---

let stepNumber = 0;
const pages = new Set();

// The library's 409 (a refresh lost to another instance), as a route
// fulfils it for the pages.
const CONFLICT = {
  status: 409,
  contentType: "application/json",
  body: JSON.stringify({
    error: "session_refresh_conflict",
    error_description: "The session's refresh was refused or taken by another request; retry in a moment.",
  }),
};

// Drops the problems a step made on purpose (matching `made`).
function ownProblems(made) {
  const fresh = problems.splice(reportedProblems);
  problems.push(...fresh.filter((p) => !made.test(p)));
}

async function step(name, body) {
  stepNumber += 1;
  const label = `${stepNumber}. ${name}`;
  console.log(`[${elapsed()}] ${label}`);
  try {
    await body();
    checkProblems();
  } catch (error) {
    console.error(`[${elapsed()}] FAILED at step ${label}`);
    console.error(error instanceof StepError ? error.message : error.stack || String(error));
    let tab = 0;
    for (const p of pages) {
      tab += 1;
      if (p.isClosed()) continue;
      console.error(`  tab ${tab}: ${p.url()}`);
      const shot = path.join(SCREENSHOT_DIR, `failure-step-${stepNumber}-tab-${tab}.png`);
      await p.screenshot({ path: shot, fullPage: true }).then(
        () => console.error(`  screenshot: ${shot}`),
        () => {},
      );
    }
    const rest = problems.slice(reportedProblems);
    if (rest.length) console.error(`  browser problems:\n  - ${rest.join("\n  - ")}`);
    throw new StepError(`step ${label} failed`);
  }
}

// Waits for `locator` to be visible with text matching `text` (string:
// exact after trimming; RegExp: as given); fails with what it saw instead.
async function expectText(locator, text, what) {
  const pattern = typeof text === "string" ? new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`) : text;
  try {
    await locator.filter({ hasText: pattern }).first().waitFor({ state: "visible" });
  } catch {
    const actual = await locator
      .first()
      .innerText({ timeout: 500 })
      .catch(() => "(not found)");
    throw new StepError(`${what}: expected ${pattern}, found ${JSON.stringify(actual)} on ${locator.page().url()}`);
  }
}

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: "visible" });
  } catch {
    throw new StepError(`${what}: not visible on ${locator.page().url()}`);
  }
}

async function expectUrl(page, pathAndQuery, what) {
  const want = `${APP_URL}${pathAndQuery}`;
  try {
    await page.waitForURL(want);
  } catch {
    throw new StepError(`${what}: expected to be on ${want}, but on ${page.url()}`);
  }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Basic accessibility, from Chromium's own accessibility tree: a main
// landmark, a language, a title, one h1, names for every button, link and
// form control, alt text on images.
async function checkAccessibility(page, what) {
  const dom = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    title: document.title,
    mains: document.querySelectorAll("main, [role=main]").length,
    h1s: document.querySelectorAll("h1").length,
    imagesWithoutAlt: [...document.querySelectorAll("img:not([alt])")].map((i) => i.outerHTML.slice(0, 80)),
  }));
  const issues = [];
  if (!dom.lang) issues.push("<html> has no lang");
  if (!dom.title.trim()) issues.push("no <title>");
  if (dom.mains !== 1) issues.push(`${dom.mains} <main> landmarks (want 1)`);
  if (dom.h1s !== 1) issues.push(`${dom.h1s} <h1> (want 1)`);
  for (const img of dom.imagesWithoutAlt) issues.push(`image without alt: ${img}`);

  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const roles = new Set(nodes.filter((n) => !n.ignored).map((n) => n.role?.value));
    if (!roles.has("main")) issues.push("no main landmark in the accessibility tree");
    const named = new Set(["button", "link", "radio", "checkbox", "textbox", "combobox"]);
    for (const node of nodes) {
      if (node.ignored || !named.has(node.role?.value)) continue;
      if (!String(node.name?.value ?? "").trim()) {
        issues.push(`a ${node.role.value} without an accessible name (DOM node ${node.backendDOMNodeId})`);
      }
    }
  } finally {
    await cdp.detach().catch(() => {});
  }
  check(issues.length === 0, `accessibility problems on ${what} (${page.url()}):\n  - ${issues.join("\n  - ")}`);
}

// The accessible name Chromium computes for the element `selector` finds.
async function accessibleName(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { result } = await cdp.send("Runtime.evaluate", { expression: `document.querySelector(${JSON.stringify(selector)})` });
    check(result.objectId, `no ${selector} on ${page.url()}`);
    const { nodes } = await cdp.send("Accessibility.getPartialAXTree", { objectId: result.objectId, fetchRelatives: false });
    return String(nodes[0]?.name?.value ?? "");
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// What is for a screen reader only (.visually-hidden) is clipped to
// nothing on screen, not drawn past its 1px box.
async function checkVisuallyHidden(page) {
  const seen = await page.locator(".visually-hidden").evaluateAll((els) =>
    els.map((el) => {
      const s = getComputedStyle(el);
      return { id: el.id, overflow: s.overflow, clip: s.clip, whiteSpace: s.whiteSpace };
    }),
  );
  check(seen.length > 0, `no .visually-hidden element on ${page.url()}`);
  for (const s of seen) {
    check(s.overflow === "hidden" && /^rect\(0px,? 0px,? 0px,? 0px\)$/.test(s.clip) && s.whiteSpace === "nowrap", `#${s.id} is not clipped away: ${JSON.stringify(s)}`);
  }
}

const shots = [];
async function screenshot(page, name) {
  const file = path.join(SCREENSHOT_DIR, `${String(shots.length + 1).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

// A page of ours (app or emulator): accessibility, then a screenshot.
async function visited(page, name) {
  await checkAccessibility(page, name);
  await screenshot(page, name);
}

// The session cookie(s): `session.<generation>.<chunk>`, one generation.
async function sessionCookies(context) {
  return (await context.cookies(APP_URL)).filter((c) => /^(__Host-)?session\./.test(c.name));
}

// --- The run ---

fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
for (const f of fs.readdirSync(SCREENSHOT_DIR)) {
  if (/^(\d\d-|failure-).*\.png$/.test(f)) fs.rmSync(path.join(SCREENSHOT_DIR, f));
}
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-chromium-"));

let context;
let exitCode = 0;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: !process.env.HEADED,
    args: [
      ...(process.env.HEADED ? [] : ["--headless"]),
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    locale: "en-US",
    viewport: { width: 1000, height: 800 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  context.on("page", track);
  // CSP violations reported by the page itself, in addition to the console.
  await context.exposeBinding("__e2eCspViolation", ({ page }, v) => {
    problems.push(`CSP violation on ${page.url()}: ${v.directive} blocked ${v.blocked || "(inline)"} at ${v.source}:${v.line}`);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__e2eCspViolation({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber });
    });
  });
  const page = context.pages()[0] || (await context.newPage());
  track(page);
  console.log(`Chromium ${context.browser()?.version() ?? ""} at ${CHROMIUM} (${CHROMIUM_SOURCE}); app at ${APP_URL}`);

  const signInLink = page.getByRole("link", { name: "Sign in with Vercel" });
  let tokenTimes;
  let emulatorOrigin;

  await step("home page, signed out", async () => {
    await page.goto(`${APP_URL}/`);
    await expectVisible(signInLink, "the sign-in link");
    await expectText(page.getByRole("status"), "You are signed out.", "the status line");
    check((await page.title()) === "Sign in with Vercel", `the home page's title is ${JSON.stringify(await page.title())}`);
    check((await page.locator("#status").getAttribute("aria-live")) === "polite", "the home page's status line is not a polite live region");
    // The signed-out section is named by a heading only a screen reader sees.
    check((await accessibleName(page, "#signed-out")) === "Sign in", `the signed-out section's name is ${JSON.stringify(await accessibleName(page, "#signed-out"))}`);
    check((await page.getByRole("heading", { name: "Sign in", exact: true }).count()) === 1, "no \"Sign in\" heading for the signed-out section");
    await checkVisuallyHidden(page);
    await visited(page, "home-signed-out");
  });

  await step('click "Sign in with Vercel": the emulator\'s login screen, then its consent page', async () => {
    await signInLink.click();
    const demoUser = page.getByRole("button", { name: /Demo User/ });
    await expectVisible(demoUser, "the demo user on the emulator's login screen");
    check(new URL(page.url()).origin !== APP_ORIGIN, `the login screen is on the app's origin: ${page.url()}`);
    emulatorOrigin = new URL(page.url()).origin;
    await visited(page, "emulator-login");
    await demoUser.click();
    await expectVisible(page.getByRole("button", { name: "Allow" }), "the Allow button");
    await expectVisible(page.getByRole("button", { name: "Cancel" }), "the Cancel button");
    await expectVisible(page.getByText("Demo User"), "the demo user on the consent page");
    await visited(page, "consent");
  });

  await step("Allow: the profile shows the demo user", async () => {
    await page.getByRole("button", { name: "Allow" }).click();
    await expectUrl(page, "/profile", "after Allow");
    await expectText(page.locator("#name"), "Demo User", "the name");
    await expectText(page.locator("#welcome-name"), "Demo User", "the welcome line");
    await expectText(page.locator("#email"), "demo@example.com", "the email");
    await expectText(page.locator("#username"), "demo", "the username");
    check((await page.locator("#status").textContent()) === "", `the status line still says ${JSON.stringify(await page.locator("#status").textContent())}`);
    check((await page.title()) === "Profile · Sign in with Vercel", `the profile's title is ${JSON.stringify(await page.title())}`);
    check((await page.locator("#status").getAttribute("aria-live")) === "polite", "the profile's status line is not a polite live region");
    // Each button's description is its own: Validate token's says what it
    // checks, Sign out everywhere's what it ends.
    const described = await page.evaluate(() =>
      Object.fromEntries(
        ["validate", "sign-out-everywhere"].map((action) => {
          const button = document.querySelector(`[data-action="${action}"]`);
          return [action, document.getElementById(button.getAttribute("aria-describedby"))?.textContent ?? ""];
        }),
      ),
    );
    check(/introspection/.test(described.validate) && !/everywhere/.test(described.validate), `Validate token's description: ${described.validate}`);
    check(/every device/.test(described["sign-out-everywhere"]), `Sign out everywhere's description: ${described["sign-out-everywhere"]}`);
    // Beside the name, the picture says nothing more: alt="", no second
    // reading of the name.
    const picture = page.locator("#picture");
    await expectVisible(picture, "the picture");
    check((await picture.getAttribute("alt")) === "", `the picture's alt is ${JSON.stringify(await picture.getAttribute("alt"))}`);
    const img = await picture.evaluate(async (el) => {
      await el.decode().catch(() => {});
      return { src: el.currentSrc || el.src, width: el.naturalWidth };
    });
    // As on Vercel, the avatar comes from the provider's origin (vercel.com/api/www/avatar/…).
    check(
      img.src.startsWith(`${emulatorOrigin}/api/www/avatar/`),
      `the picture is not the emulator's avatar URL: ${img.src.slice(0, 80)}`,
    );
    check(img.width > 0, "the picture did not load (naturalWidth 0)");
    await visited(page, "profile");
  });

  await step("a 409 (a refresh lost to another instance): the profile retries once and shows the user", async () => {
    // One instance's answer while another refreshes the session: the
    // library's 409, made here for the first request to each route (one
    // process serving every route never loses that race). The retry goes
    // to the app.
    const sent = { "/api/auth/session": 0, "/api/user-info": 0 };
    const conflict = async (route) => {
      const path = new URL(route.request().url()).pathname;
      sent[path] += 1;
      if (sent[path] > 1) return route.continue();
      return route.fulfill(CONFLICT);
    };
    for (const path of Object.keys(sent)) await page.route(`${APP_URL}${path}`, conflict);
    try {
      await page.reload();
      await expectText(page.locator("#name"), "Demo User", "the name after a 409 and its retry");
      await expectText(page.locator("#email"), "demo@example.com", "the email after a 409 and its retry");
      check(
        sent["/api/auth/session"] === 2 && sent["/api/user-info"] === 2,
        `one 409 and one retry to each route: ${JSON.stringify(sent)}`,
      );
      // The two 409s made above, each seen as a response and a console
      // line, are this step's own: anything else is still a problem.
      const fresh = problems.splice(reportedProblems);
      const made = /^(HTTP 409 on .* GET \S+\/api\/(auth\/session|user-info)|console error on .*status of 409 \(Conflict\).*\/api\/(auth\/session|user-info)\))$/;
      problems.push(...fresh.filter((p) => !made.test(p)));
      check(fresh.length - (problems.length - reportedProblems) === 4, `the four reports of the two 409s: ${JSON.stringify(fresh)}`);
    } finally {
      for (const path of Object.keys(sent)) await page.unroute(`${APP_URL}${path}`, conflict);
    }
  });

  await step("409s past the retries: the home page says it could not check, shows neither section, and Try again finds the user", async () => {
    // A refresh in another instance that outlasts the page's two retries:
    // the user may be signed in, so the page offers neither the sign-in
    // link nor the signed-in section, only the error and a way to ask again.
    let sent = 0;
    const conflict = (route) => {
      sent += 1;
      return route.fulfill(CONFLICT);
    };
    await page.route(`${APP_URL}/api/auth/session`, conflict);
    try {
      await page.goto(`${APP_URL}/`);
      await expectVisible(page.getByRole("button", { name: "Try again" }), "Try again after the 409s");
      await expectText(page.locator("#status"), /^\s*Could not check your session: The session's refresh was refused or taken/, "the status after the 409s");
      check(sent === 3, `one request and two retries, each answered 409: ${sent} requests`);
      check(!(await page.locator("#signed-out").isVisible()), "the sign-in section shown though the page could not tell");
      check(!(await page.locator("#signed-in").isVisible()), "the signed-in section shown though the page could not tell");
    } finally {
      await page.unroute(`${APP_URL}/api/auth/session`, conflict);
    }
    // The three 409s, each seen as a response and a console line, are this
    // step's own: anything else is still a problem.
    const fresh = problems.splice(reportedProblems);
    const made = /^(HTTP 409 on .* GET \S+\/api\/auth\/session|console error on .*status of 409 \(Conflict\).*\/api\/auth\/session\))$/;
    problems.push(...fresh.filter((p) => !made.test(p)));
    check(fresh.length - (problems.length - reportedProblems) === 6, `the six reports of the three 409s: ${JSON.stringify(fresh)}`);
    await page.getByRole("button", { name: "Try again" }).click();
    await expectVisible(page.locator("#signed-in"), "the signed-in section after Try again");
    check((await page.locator("#status").textContent()) === "", `the home status line still says ${JSON.stringify(await page.locator("#status").textContent())}`);
    await page.getByRole("link", { name: "View your profile" }).click();
    await expectUrl(page, "/profile", "after View your profile");
    await expectText(page.locator("#name"), "Demo User", "the profile after View your profile");
    await page.goto(`${APP_URL}/`);
    await expectVisible(page.locator("#signed-in"), "the home page signed in again");
    await checkAccessibility(page, "the home page after Try again");
  });

  await step("a provider-chosen name with a right-to-left override, 300 characters long, stays in its element and in the page", async () => {
    // What Vercel answers is the user's choice: a name that would flip the
    // sentence around it (U+202E) and one long word. Each page's name is
    // an isolated element of its own, and the page no wider than the window.
    const name = `\u202Eevil${"x".repeat(300)}`;
    const user = { sub: "usr_demo", name, preferred_username: "demo", email: "demo@example.com" };
    const answers = {
      "/api/auth/session": { user },
      "/api/user-info": { userInfo: user },
    };
    const hostile = (route) =>
      route.fulfill({
        status: 200,
        contentType: "application/json",
        body: JSON.stringify(answers[new URL(route.request().url()).pathname]),
      });
    for (const path of Object.keys(answers)) await page.route(`${APP_URL}${path}`, hostile);
    try {
      for (const [at, selector] of [
        ["/", "#who"],
        ["/profile", "#welcome-name"],
        ["/auth/error?error=sign_in_expired", "#error-signed-in bdi"],
      ]) {
        await page.goto(`${APP_URL}${at}`);
        await expectVisible(page.locator(selector), `the name on ${at}`);
        const seen = await page.locator(selector).evaluate((el) => ({
          tag: el.tagName,
          bidi: getComputedStyle(el).unicodeBidi,
          text: el.textContent,
          after: el.parentElement.closest("p").textContent.trim().slice(-1),
          width: document.documentElement.scrollWidth,
          window: window.innerWidth,
        }));
        check(seen.text === name, `the name on ${at} is not alone in its element: ${JSON.stringify(seen.text.slice(0, 40))}`);
        check(
          seen.tag === "BDI" && seen.bidi === "isolate",
          `the name on ${at} is a ${seen.tag} with unicode-bidi ${seen.bidi}, not an isolated bdi`,
        );
        check(seen.after === ".", `the sentence on ${at} does not end after the name: ${JSON.stringify(seen.after)}`);
        check(seen.width <= seen.window, `the page ${at} is ${seen.width}px wide in a ${seen.window}px window`);
      }
      await screenshot(page, "error-hostile-name");
      // A name in a right-to-left script reads in its own direction in the
      // profile's details too, its trailing period at its end (the left).
      user.name = "\u05DE\u05D9\u05DB\u05DC \u05D1.";
      await page.goto(`${APP_URL}/profile`);
      await expectText(page.locator("#name"), user.name, "the right-to-left name in the profile's details");
      for (const selector of ["#name", "#email", "#username", "#token-details dd"]) {
        const dirs = await page.locator(selector).evaluateAll((els) => els.map((el) => el.dir));
        check(
          dirs.length === 0 || dirs.every((dir) => dir === "auto"),
          `the profile's ${selector} takes the direction of its value: dir ${JSON.stringify(dirs)}`,
        );
      }
      const direction = await page.locator("#name").evaluate((el) => getComputedStyle(el).direction);
      check(direction === "rtl", `the right-to-left name in #name is laid out ${direction}`);
    } finally {
      for (const path of Object.keys(answers)) await page.unroute(`${APP_URL}${path}`, hostile);
    }
    await page.goto(`${APP_URL}/profile`);
    await expectText(page.locator("#name"), "Demo User", "the profile again, as Vercel describes the user");
  });

  await step('"Validate token": the token is valid, with readable times', async () => {
    // A double click asks once: the busy button ignores the second click
    // (aria-disabled, unlike disabled, does not stop one). The answer is
    // held until both clicks are in (else a fast answer makes the button
    // idle before the second, which then rightly asks again), and while it
    // is held the page shows that it is busy.
    let validations = 0;
    const onValidate = (request) => {
      if (new URL(request.url()).pathname === "/api/validate-token") validations += 1;
    };
    page.on("request", onValidate);
    // By its action: its accessible name changes while it is busy.
    const validate = page.locator('[data-action="validate"]');
    const response = await whileHeld(page, `${APP_URL}/api/validate-token`, async () => {
      await validate.dblclick();
      await expectText(validate, "Validating token…", "the busy button's label");
      check((await validate.getAttribute("aria-disabled")) === "true", "the busy button is not aria-disabled");
      await expectText(page.locator("#token-status"), "Validating token…", "the live region while validating");
    });
    check(!(response instanceof Error), `no answer from /api/validate-token: ${response}`);
    check(response.status() === 200, `/api/validate-token answered ${response.status()}`);
    const answered = await response.json();
    const info = answered.tokenInfo || {};
    const described = answered.tokenMetadata || {};
    await expectText(page.locator("#token-message"), /Token is valid/, "the token result");
    // The keyboard's place is kept (a disabled button would drop it to the
    // body), and the outcome is said in a live region that stays exposed.
    const focused = await page.evaluate(() => document.activeElement?.dataset?.action || document.activeElement?.tagName);
    check(focused === "validate", `the focus after "Validate token" is on ${focused}, not the button`);
    const said = await page.getByRole("status").filter({ hasText: "The details follow" }).textContent();
    check(/^Token is valid.*The details follow\.$/.test(said), `the live region says ${JSON.stringify(said)}`);
    page.off("request", onValidate);
    check(validations === 1, `a double click on "Validate token" asked ${validations} times`);
    const rows = await rowsOf(page.locator("#token-details"));
    check(rows["Token active"] === "Yes", `"Token active" is ${JSON.stringify(rows["Token active"])}, not Yes`);
    for (const label of ["Issued at", "Expires at"]) {
      const value = rows[label];
      check(value && value !== "N/A", `"${label}" is ${JSON.stringify(value)}`);
      check(!/^\d+(\.\d+)?$/.test(value), `"${label}" is a raw number: ${value}`);
      check(/\b20\d\d\b/.test(value) && /\d{1,2}:\d{2}/.test(value), `"${label}" is not a readable date and time: ${value}`);
    }
    check(typeof info.iat === "number" && typeof info.exp === "number", `tokenInfo has no numeric iat/exp: ${JSON.stringify(info)}`);
    tokenTimes = info;
    // Beside the introspection, what Vercel's REST API says of the token
    // (GET /v5/user/tokens/current).
    await expectVisible(page.getByRole("heading", { name: "Token metadata from Vercel's REST API" }), "the token metadata's heading");
    const metaName = await accessibleName(page, "#token-metadata");
    check(metaName === "Token metadata from Vercel's REST API", `the metadata list's accessible name is ${JSON.stringify(metaName)}`);
    const meta = await rowsOf(page.locator("#token-metadata"));
    check(meta.Type === "oauth2-token", `the token metadata's Type is ${JSON.stringify(meta.Type)}, not oauth2-token`);
    // Each row shows its own member of the answer.
    for (const [label, value] of [["Subject (user ID)", info.sub], ["Client ID", info.client_id], ["Issuer", info.iss]]) {
      check(typeof value === "string" && rows[label] === value, `"${label}" is ${JSON.stringify(rows[label])}, the answer says ${JSON.stringify(value)}`);
    }
    for (const [label, value] of [["Name", described.name], ["Token ID", described.id], ["Origin", described.origin]]) {
      check(typeof value === "string" && meta[label] === value, `the metadata's "${label}" is ${JSON.stringify(meta[label])}, the answer says ${JSON.stringify(value)}`);
    }
    check(
      described.expiresAt == null ? meta["Expires at"] === "Never" : /\b20\d\d\b/.test(meta["Expires at"] || ""),
      `the metadata's "Expires at" is ${JSON.stringify(meta["Expires at"])} for expiresAt ${described.expiresAt}`,
    );
    check(/^[0-9a-f]{64}$/.test(meta["Token ID"] || ""), `the token metadata's Token ID is ${JSON.stringify(meta["Token ID"])}`);
    check(/\b20\d\d\b/.test(meta["Created at"] || ""), `the token metadata's Created at is not a readable date: ${JSON.stringify(meta["Created at"])}`);
    check(await page.locator("#token-metadata-error").isHidden(), "the token metadata's error shows beside the metadata");
    await visited(page, "profile-token-valid");
  });

  await step('"Validate token" while Vercel\'s REST API fails: the introspection shows, and the page says why the metadata does not', async () => {
    await emulatorFault("rest-api-fails");
    const answer = page.waitForResponse((r) => r.url() === `${APP_URL}/api/validate-token`);
    await page.getByRole("button", { name: "Validate token" }).click();
    check((await answer).status() === 200, "/api/validate-token did not answer 200 while only the REST API failed");
    await expectText(page.locator("#token-message"), /Token is valid/, "the token result");
    await expectText(page.locator("#token-metadata-error"), /^Vercel's API did not describe this token: Vercel's API answered with an error\.$/, "the metadata's error");
    check(await page.locator("#token-metadata").isHidden(), "the previous metadata still shows after the REST API failed");
    const rows = await rowsOf(page.locator("#token-details"));
    check(rows["Token active"] === "Yes", `"Token active" is ${JSON.stringify(rows["Token active"])} while only the REST API failed`);
    await visited(page, "profile-token-metadata-refused");
    await emulatorFault("rest-api-works");
  });

  await step('"Validate token" again: the metadata error goes once the REST API answers; a failed validation says why, and the next one clears it', async () => {
    await page.getByRole("button", { name: "Validate token" }).click();
    await expectVisible(page.locator("#token-metadata"), "the token metadata after the REST API recovered");
    check(await page.locator("#token-metadata-error").isHidden(), "the metadata's old error still shows after the REST API recovered");
    const dirs = await page.locator("#token-details dd").evaluateAll((els) => els.map((el) => el.dir));
    check(dirs.length > 0 && dirs.every((d) => d === "auto"), `the token details' values take their own direction: ${JSON.stringify(dirs)}`);
    const failing = (route) => route.fulfill({ status: 502, contentType: "application/json", body: JSON.stringify({ error: "provider_unavailable", error_description: "The identity provider is unavailable; try again later." }) });
    await page.route(`${APP_URL}/api/validate-token`, failing);
    try {
      await page.getByRole("button", { name: "Validate token" }).click();
      await expectText(page.getByRole("alert"), "Error: The identity provider is unavailable; try again later.", "the validation's error");
      check(await page.locator("#token-result").isHidden(), "the previous result still shows beside the error");
      check((await page.locator("#token-status").textContent()) === "", "the live region still says it is validating");
    } finally {
      await page.unroute(`${APP_URL}/api/validate-token`, failing);
    }
    ownProblems(/(HTTP 502 on .*\/api\/validate-token|status of 502 .*\/api\/validate-token)/);
    await page.getByRole("button", { name: "Validate token" }).click();
    await expectText(page.locator("#token-message"), /Token is valid/, "the token result after the error");
    check(await page.locator("#token-error").isHidden(), "the old error still shows after a validation that worked");
  });

  await step("the profile when Vercel cannot be asked: it says why, shows neither section, and offers Try again", async () => {
    const failing = (route) => route.fulfill({ status: 502, contentType: "application/json", body: JSON.stringify({ error: "provider_unavailable", error_description: "The identity provider is unavailable; try again later." }) });
    await page.route(`${APP_URL}/api/user-info`, failing);
    try {
      await page.reload();
      await expectText(page.locator("#status"), /^\s*Could not load your profile: The identity provider is unavailable; try again later\./, "the status");
      await expectVisible(page.getByRole("button", { name: "Try again" }), "Try again");
      check(!(await page.locator("#signed-out").isVisible()) && !(await page.locator("#signed-in").isVisible()), "a section shown though the page could not tell");
    } finally {
      await page.unroute(`${APP_URL}/api/user-info`, failing);
    }
    ownProblems(/(HTTP 502 on .*\/api\/user-info|status of 502 .*\/api\/user-info)/);
    await page.getByRole("button", { name: "Try again" }).click();
    await expectText(page.locator("#name"), "Demo User", "the profile after Try again");
  });

  await step("a picture that does not load is left out, and one the page refuses is never asked for", async () => {
    const answering = (picture) => (route) =>
      route.fulfill({
        status: 200,
        contentType: "application/json",
        body: JSON.stringify({ userInfo: { sub: "usr_demo", name: "Demo User", email: "demo@example.com", preferred_username: "demo", picture } }),
      });
    const missing = `${APP_URL}/missing-avatar.png`;
    const notFound = (route) => route.fulfill({ status: 404, contentType: "text/plain", body: "" });
    const asked = [];
    const onRequest = (request) => asked.push(request.url());
    page.on("request", onRequest);
    try {
      for (const [picture, what] of [[missing, "a picture that answers 404"], ["javascript:alert(1)//.png", "a javascript: picture"], ["http://evil.example/a.png", "an http picture off loopback"]]) {
        const answer = answering(picture);
        await page.route(`${APP_URL}/api/user-info`, answer);
        await page.route(missing, notFound);
        try {
          await page.reload();
          await expectText(page.locator("#name"), "Demo User", `the profile with ${what}`);
          // The 404's error event comes after the load: wait for what it does.
          await page.locator("#picture").waitFor({ state: "hidden", timeout: 5000 }).catch(() => {});
          check(await page.locator("#picture").isHidden(), `${what} is shown`);
          // The page's own refusal, not the CSP's: it never sets the source.
          if (picture !== missing) check((await page.locator("#picture").getAttribute("src")) === null, `the page gave ${what} to the image`);
        } finally {
          await page.unroute(`${APP_URL}/api/user-info`, answer);
          await page.unroute(missing, notFound);
        }
      }
    } finally {
      page.off("request", onRequest);
    }
    // (A page that asked anyway would also meet the CSP's img-src, a
    // problem of the step.)
    check(!asked.some((url) => /^javascript:|evil\.example/.test(url)), `a picture the page refuses was asked for: ${JSON.stringify(asked)}`);
    check(asked.includes(missing), `the http picture was never asked for: ${JSON.stringify(asked)}`);
    ownProblems(/missing-avatar\.png/);
    await page.reload();
    await expectText(page.locator("#name"), "Demo User", "the profile as it was");
  });

  await step("after the access token expires, reloading the profile refreshes silently", async () => {
    const ttl = tokenTimes.exp - tokenTimes.iat;
    check(
      ttl <= MAX_TOKEN_TTL_S,
      `the access token lives ${ttl}s; start the dev server with EMULATOR_ACCESS_TOKEN_TTL=3 so that the test can wait for it to expire`,
    );
    // The access token the session holds now: on a slow machine the steps
    // since "Validate token" may outlast the first one, and refresh it.
    const current = await context.request.get(`${APP_URL}/api/validate-token`, { headers: { accept: "application/json" } });
    check(current.status() === 200, `GET /api/validate-token answered ${current.status()}`);
    const held = (await current.json()).tokenInfo || {};
    check(typeof held.exp === "number", `tokenInfo has no numeric exp: ${JSON.stringify(held)}`);
    const before = (await sessionCookies(context)).map((c) => c.name);
    check(before.length === 1, `one session cookie after sign-in, not ${JSON.stringify(before)}`);
    const sealed = (await sessionCookies(context))[0];
    check(sealed.httpOnly && sealed.sameSite === "Lax", "the session cookie is HttpOnly and SameSite=Lax");
    // The one fixed wait: until the access token has expired.
    const wait = Math.max(0, held.exp * 1000 + 1000 - Date.now());
    console.log(`    waiting ${(wait / 1000).toFixed(1)}s for the ${ttl}s access token to expire`);
    await page.waitForTimeout(wait);
    await page.reload();
    await expectText(page.locator("#name"), "Demo User", "the name after the access token expired (silent refresh)");
    await expectText(page.locator("#email"), "demo@example.com", "the email after refresh");
    const renewed = (await sessionCookies(context)).map((c) => c.name);
    check(
      renewed.length === 1 && renewed[0] !== before[0],
      `a new session generation after the refresh: ${JSON.stringify(before)} -> ${JSON.stringify(renewed)}`,
    );
  });

  await step("what Vercel leaves out shows as N/A, and the welcome line falls back to the username", async () => {
    const answering = (body) => (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
    let answer = answering({ userInfo: { sub: "usr_demo", preferred_username: "demo" } });
    await page.route(`${APP_URL}/api/user-info`, answer);
    try {
      await page.reload();
      await expectText(page.locator("#welcome-name"), "demo", "the welcome line without a name");
      await expectText(page.locator("#name"), "N/A", "the name left out");
      await expectText(page.locator("#email"), "N/A", "the email left out");
      await page.unroute(`${APP_URL}/api/user-info`, answer);
      answer = answering({ userInfo: { sub: "usr_demo" } });
      await page.route(`${APP_URL}/api/user-info`, answer);
      await page.reload();
      await expectText(page.locator("#username"), "N/A", "the username left out");
    } finally {
      await page.unroute(`${APP_URL}/api/user-info`, answer);
    }
    const bare = answering({ message: "Token is valid", tokenInfo: { active: true }, tokenMetadata: { type: "oauth2-token" } });
    await page.route(`${APP_URL}/api/validate-token`, bare);
    try {
      await page.getByRole("button", { name: "Validate token" }).click();
      await expectText(page.locator("#token-message"), /Token is valid/, "the token result");
      const rows = await rowsOf(page.locator("#token-details"));
      for (const label of ["Client ID", "Issued at", "Expires at"]) check(rows[label] === "N/A", `"${label}" left out is ${JSON.stringify(rows[label])}, not N/A`);
      const meta = await rowsOf(page.locator("#token-metadata"));
      for (const label of ["Name", "Created at"]) check(meta[label] === "N/A", `the metadata's "${label}" left out is ${JSON.stringify(meta[label])}, not N/A`);
    } finally {
      await page.unroute(`${APP_URL}/api/validate-token`, bare);
    }
    await page.reload();
    await expectText(page.locator("#name"), "Demo User", "the profile as it was");
  });

  await step("an error page while still signed in (a callback opened again) says so, and leads to the profile", async () => {
    await page.goto(`${APP_URL}/auth/error?error=sign_in_expired`);
    await expectText(page.getByRole("heading", { level: 1 }), "The sign-in attempt expired", "the error page's heading");
    await expectText(page.locator("#error-signed-in"), "You are still signed in as Demo User.", "the note that the user is signed in");
    const onward = page.getByRole("link", { name: "Continue to your profile" });
    await expectVisible(onward, "the link to the profile");
    await onward.click();
    await expectUrl(page, "/profile", "after Continue");
    await expectText(page.locator("#name"), "Demo User", "the profile after Continue");
  });

  let second;
  await step("sign out: this tab goes home signed out, the API answers 401, a second tab follows", async () => {
    second = await context.newPage();
    await second.goto(`${APP_URL}/profile`);
    await expectText(second.locator("#name"), "Demo User", "the profile in the second tab");
    await second.evaluate(() => {
      window.__e2eNotReloaded = true;
    });

    await page.bringToFront();
    // The answer is held while the page shows that it is busy.
    const signOutButton = page.locator('#signed-in [data-action="sign-out"]');
    const signedOut = await whileHeld(page, `${APP_URL}/api/auth/signout`, async () => {
      await signOutButton.click();
      await expectText(signOutButton, "Signing out…", "the busy Sign out button's label");
      check((await signOutButton.getAttribute("aria-disabled")) === "true", "the busy Sign out button is not aria-disabled");
      await expectText(page.locator("#status"), "Signing out…", "the status line while signing out");
    });
    check(!(signedOut instanceof Error), `no answer from /api/auth/signout: ${signedOut}`);
    await expectUrl(page, "/", "after Sign out");
    await expectVisible(signInLink, "the sign-in link after sign-out");
    await expectText(page.getByRole("status"), "You are signed out.", "the status line after sign-out");
    await visited(page, "home-after-sign-out");

    const probe = await context.request.get(`${APP_URL}/api/user-info`, { headers: { accept: "application/json" } });
    check(probe.status() === 401, `GET /api/user-info after sign-out answered ${probe.status()}, not 401`);
    const left = (await context.cookies(APP_URL)).map((c) => c.name);
    check(!left.some((n) => /token|session/i.test(n)), `session cookies left after sign-out: ${left.join(", ")}`);

    await expectVisible(second.getByRole("heading", { name: "You are signed out" }), "the signed-out state in the second tab");
    await expectVisible(second.getByRole("link", { name: "Sign in with Vercel" }), "the sign-in link in the second tab");
    check(await second.locator("#signed-in").isHidden(), "the second tab still shows the profile");
    check(await second.evaluate(() => window.__e2eNotReloaded === true), "the second tab was reloaded instead of updated in place");
    await visited(second, "second-tab-signed-out");
    await second.close();
  });

  // Consent is remembered: authorize sends the browser straight back.
  async function signInAgain() {
    await page.goto(`${APP_URL}/api/auth/authorize?next=/profile`);
    await expectUrl(page, "/profile", "signed in again (consent remembered)");
    await expectText(page.locator("#name"), "Demo User", "the profile");
  }

  // Signs in again and signs out while the emulator's revocation endpoint
  // answers 503: the page's note, and a retry on offer; Vercel answers
  // again once this returns.
  async function signOutWhileRevocationFails() {
    await signInAgain();
    await emulatorFault("revocation-fails");
    try {
      await page.locator("#signed-in").getByRole("button", { name: "Sign out", exact: true }).click();
      await expectText(page.getByRole("status"), /Vercel could not be reached to revoke this app's access\./, "the note");
    } finally {
      await emulatorFault("revocation-works");
    }
  }

  await step("sign out that fails says so and can be tried again; one with no session left goes home", async () => {
    await signInAgain();
    const failing = (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{}" });
    await page.route(`${APP_URL}/api/auth/signout`, failing);
    const button = page.locator("#signed-in").getByRole("button", { name: "Sign out", exact: true });
    try {
      await button.click();
      await expectText(page.getByRole("status"), "Could not sign out: HTTP 503. Please try again.", "the status");
      check((await button.getAttribute("aria-disabled")) === null, "the Sign out button stays busy after the failure");
    } finally {
      await page.unroute(`${APP_URL}/api/auth/signout`, failing);
    }
    ownProblems(/(HTTP 503 on .*\/api\/auth\/signout|status of 503 .*\/api\/auth\/signout)/);
    // The session went away meanwhile (ended in another window): the server answers 401, and the page goes home.
    await context.clearCookies({ domain: new URL(APP_URL).hostname });
    await button.click();
    await expectUrl(page, "/", "after Sign out with no session left");
    await expectText(page.getByRole("status"), "You are signed out.", "the status");
    ownProblems(/(HTTP 401 on .*\/api\/auth\/signout|status of 401 .*\/api\/auth\/signout)/);
  });

  await step('"Sign out everywhere" without a shared store: signed out here, and told why not elsewhere', async () => {
    await signInAgain();
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expectVisible(page.getByRole("heading", { name: "You are signed out" }), "the signed-out state");
    await expectText(
      page.getByRole("status"),
      /signed out here, but not on your other devices: Signing out everywhere needs the app's shared session store\./,
      "the note",
    );
    await visited(page, "profile-signed-out-everywhere-without-store");
    const probe = await context.request.get(`${APP_URL}/api/user-info`, { headers: { accept: "application/json" } });
    check(probe.status() === 401, `GET /api/user-info after sign-out answered ${probe.status()}, not 401`);
  });

  await step("sign out while Vercel answers with an error: the page says so, and Try again revokes", async () => {
    await signInAgain();
    // The emulator's revocation endpoint answers 503 until the retry.
    await emulatorFault("revocation-fails");
    await page.locator("#signed-in").getByRole("button", { name: "Sign out", exact: true }).click();
    await expectText(page.getByRole("status"), /Vercel could not be reached to revoke this app's access\./, "the note");
    check(page.url() === `${APP_URL}/profile`, `left the page instead of saying so: ${page.url()}`);
    // The Sign out button went with its section: the focus is on the note.
    const focusedOnNote = await page.evaluate(() => document.activeElement?.id);
    check(focusedOnNote === "status", `the focus after the sign-out's note is on ${focusedOnNote}, not the status line`);
    const signedOut = await context.request.get(`${APP_URL}/api/user-info`, { headers: { accept: "application/json" } });
    check(signedOut.status() === 401, `GET /api/user-info before the retry answered ${signedOut.status()}, not 401`);
    await visited(page, "profile-revocation-failed");
    await page.getByRole("button", { name: "Try again" }).click();
    await expectText(page.getByRole("status"), /^\s*Vercel still cannot be reached\. Your session here is over; try again in a moment\./, "after Try again while Vercel is still down");
    await emulatorFault("revocation-works");
    check(await page.locator('[data-action="retry-revocation"]').count() === 1, "no retry button (data-action) to click");
    await page.getByRole("button", { name: "Try again" }).click();
    await expectText(page.getByRole("status"), "Vercel has revoked this app's access. You are signed out.", "after Try again");
    // Try again went with the message it followed: the focus is on the new one.
    const focusedAfterRetry = await page.evaluate(() => document.activeElement?.id);
    check(focusedAfterRetry === "status", `the focus after Try again is on ${focusedAfterRetry}, not the status line`);
    check(await page.locator('[data-action="retry-revocation"]').count() === 0, "still offers a retry after it worked");
  });

  await step("Try again after a sign-in in another tab: the kept tokens are revoked, the new session goes on", async () => {
    await signOutWhileRevocationFails();
    const other = await context.newPage();
    try {
      await other.goto(`${APP_URL}/api/auth/authorize?next=/profile`);
      await expectUrl(other, "/profile", "signed in again in another tab");
      await expectText(other.locator("#name"), "Demo User", "the other tab's profile");
      await page.getByRole("button", { name: "Try again" }).click();
      await expectText(
        page.getByRole("status"),
        /Vercel has revoked the signed-out session's access\. Someone has signed in again in this browser since/,
        "after Try again",
      );
      const probe = await context.request.get(`${APP_URL}/api/user-info`, { headers: { accept: "application/json" } });
      check(probe.status() === 200, `Try again ended the other tab's new session: GET /api/user-info answered ${probe.status()}`);
    } finally {
      await other.close();
    }
  });

  await step("Try again when Vercel then refuses the tokens: the page says how to remove the app, with no retry", async () => {
    await signOutWhileRevocationFails();
    // Vercel answers again, and refuses both tokens.
    await emulatorFault("revocation-unsupported");
    try {
      await page.getByRole("button", { name: "Try again" }).click();
      await expectText(
        page.getByRole("status"),
        "You are signed out here, but this app's access could not be revoked: remove it in your Vercel Account Settings, under Sign in with Vercel.",
        "after Try again",
      );
      check(await page.locator('[data-action="retry-revocation"]').count() === 0, "offered a retry with nothing to retry");
    } finally {
      await emulatorFault("revocation-works");
    }
  });

  await step("sign out when Vercel revokes neither token: the page says how to remove the app, with no retry", async () => {
    await signInAgain();
    // The emulator refuses both tokens with unsupported_token_type (RFC
    // 7009 §2.2.1): the session ends here, the grant stays.
    await emulatorFault("revocation-unsupported");
    try {
      await page.locator("#signed-in").getByRole("button", { name: "Sign out", exact: true }).click();
      await expectText(
        page.getByRole("status"),
        /signed out here, but this app's access could not be revoked: remove it in your Vercel Account Settings, under Sign in with Vercel\./,
        "the note",
      );
      check(page.url() === `${APP_URL}/profile`, `left the page instead of saying so: ${page.url()}`);
      check(await page.locator('[data-action="retry-revocation"]').count() === 0, "offered a retry with nothing to retry");
    } finally {
      await emulatorFault("revocation-works");
    }
    const probe = await context.request.get(`${APP_URL}/api/user-info`, { headers: { accept: "application/json" } });
    check(probe.status() === 401, `GET /api/user-info after the sign-out answered ${probe.status()}, not 401`);
  });

  await step("Try again when the app cannot be reached, then when nothing is left to retry: the page says each", async () => {
    await signOutWhileRevocationFails();
    const isRetry = (url) => url.pathname === "/api/auth/signout" && url.search === "?retry";
    const unreachable = (route) => route.abort();
    await page.route(isRetry, unreachable);
    try {
      await page.getByRole("button", { name: "Try again" }).click();
      await expectText(page.locator("#status"), /^\s*Could not reach this app: .+\.\s*Try again\s*$/, "after Try again with the app unreachable");
    } finally {
      await page.unroute(isRetry, unreachable);
    }
    ownProblems(/^(request failed|console error) on .*\/api\/auth\/signout\?retry/);
    // The tokens kept for the retry are gone (ten minutes passed, or
    // another tab retried): the page says what is left to do.
    const nothingLeft = (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ retried: 0, signedIn: false }) });
    await page.route(isRetry, nothingLeft);
    try {
      await page.getByRole("button", { name: "Try again" }).click();
      await expectText(
        page.locator("#status"),
        "You are signed out. If this app still appears in your Vercel Account Settings, under Sign in with Vercel, remove it there.",
        "after Try again with nothing left to retry",
      );
    } finally {
      await page.unroute(isRetry, nothingLeft);
    }
  });

  await step("the emulator's account page lists the app; Remove forgets the consent, and the app's tabs learn it", async () => {
    await signInAgain();
    const second = await context.newPage();
    await second.goto(`${APP_URL}/profile`);
    await expectText(second.locator("#name"), "Demo User", "the profile in the second tab");
    await second.evaluate(() => {
      window.__e2eNotReloaded = true;
    });

    // A tab told that the server ended a session asks before it believes
    // it: told while the session lives (as after a refresh another
    // instance won), the second tab stays signed in.
    // The announcement comes on both paths, as the pages send it (the
    // channel and the storage event, the same id): the tab asks once.
    const asked = [];
    const onRequest = (request) => {
      if (new URL(request.url()).pathname === "/api/auth/session") asked.push(request.url());
    };
    second.on("request", onRequest);
    await page.evaluate(() => {
      const announcement = { type: "signed-out", ended: true, id: `e2e.${Date.now()}` };
      new BroadcastChannel("auth").postMessage(announcement);
      localStorage.setItem("auth:signed-out", JSON.stringify(announcement));
    });
    await page.waitForTimeout(1000);
    second.off("request", onRequest);
    check(await second.locator("#signed-in").isVisible(), "the second tab believed an ended session without asking");
    check(asked.length === 1, `the second tab asked ${asked.length} times about one announcement heard twice`);

    const account = await context.newPage();
    await account.goto(`${emulatorOrigin}/account/authorizations`);
    const remove = account.getByRole("button", { name: "Remove Local app" });
    await expectVisible(remove, "the Remove button next to the app");
    await visited(account, "emulator-authorized-apps");
    await remove.click();
    await expectVisible(account.getByText("No apps are authorized."), "the empty list after Remove");
    await account.close();

    // Vercel now refuses the session's tokens: asking about them ends the
    // session (without a store, a 409 first: the refused refresh may have
    // been a race another instance won; the page's one retry gets the 401),
    // and the other tab follows without a reload.
    await page.bringToFront();
    await page.getByRole("button", { name: "Validate token" }).click();
    await expectVisible(page.getByRole("heading", { name: "You are signed out" }), "the signed-out state after Remove");
    // The keyboard's place follows the section that went away (the button
    // clicked was in it) to the heading that replaced it.
    const focusedAfter = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
    check(focusedAfter === "signed-out-title", `the focus after the session ended is on ${focusedAfter}, not the signed-out heading`);
    await expectVisible(second.getByRole("heading", { name: "You are signed out" }), "the signed-out state in the second tab after Remove");
    check(await second.evaluate(() => window.__e2eNotReloaded === true), "the second tab was reloaded instead of updated in place");
    await second.close();
    // The 409 and the 401 of validate-token, each seen as a response and a
    // console line, are this step's own: anything else is still a problem.
    const fresh = problems.splice(reportedProblems);
    const made = /^(HTTP (409|401) on .* GET \S+\/api\/validate-token|console error on .*status of (409 \(Conflict\)|401 \(Unauthorized\)).*\/api\/validate-token\))$/;
    problems.push(...fresh.filter((p) => !made.test(p)));
    check(fresh.some((p) => /^HTTP 401 on .*\/api\/validate-token$/.test(p)), `the 401 that ended the session: ${JSON.stringify(fresh)}`);
  });

  await step("the profile's sign-in link comes back to the profile; a profile loaded after Vercel forgot the app shows the signed-out state, and the other tab follows", async () => {
    await page.goto(`${APP_URL}/profile`);
    await page.locator("#signed-out").getByRole("link", { name: "Sign in with Vercel" }).click();
    await page.getByRole("button", { name: "Allow" }).click();
    await expectUrl(page, "/profile", "after the profile's sign-in link");
    await expectText(page.locator("#name"), "Demo User", "the profile");
    const second = await context.newPage();
    await second.goto(`${APP_URL}/profile`);
    await expectText(second.locator("#name"), "Demo User", "the profile in the second tab");
    const account = await context.newPage();
    await account.goto(`${emulatorOrigin}/account/authorizations`);
    await account.getByRole("button", { name: "Remove Local app" }).click();
    await expectVisible(account.getByText("No apps are authorized."), "the empty list after Remove");
    await account.close();
    await page.bringToFront();
    await page.reload();
    await expectVisible(page.getByRole("heading", { name: "You are signed out" }), "the signed-out state on a profile loaded after Remove");
    await expectVisible(second.getByRole("heading", { name: "You are signed out" }), "the second tab after the first learnt the session ended");
    await second.close();
    ownProblems(/(HTTP (409|401) on .*\/api\/(user-info|auth\/session)|status of (409|401) .*\/api\/(user-info|auth\/session))/);
  });

  await step("keyboard: Tab from the top of / reaches the sign-in link, Enter opens the consent page", async () => {
    await page.goto(`${APP_URL}/`);
    await expectVisible(signInLink, "the sign-in link");
    await page.evaluate(() => document.activeElement?.blur());
    let reached = false;
    const seen = [];
    for (let i = 0; i < 10 && !reached; i += 1) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return el && el !== document.body ? `${el.tagName.toLowerCase()} "${el.textContent.trim()}"` : "(body)";
      });
      seen.push(focused);
      reached = await signInLink.evaluate((el) => el === document.activeElement);
    }
    check(reached, `Tab never reached the sign-in link; focus went to: ${seen.join(", ")}`);
    // The keyboard's place is seen: a focus ring.
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    check(ring !== "none", `the focused sign-in link shows no focus ring (outline-style ${ring})`);
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("button", { name: "Cancel" }), "the consent page after Enter");
    check(new URL(page.url()).origin !== APP_ORIGIN, `Enter did not open the consent page: ${page.url()}`);
  });

  await step("Cancel: the error page explains that sign-in was cancelled", async () => {
    await page.getByRole("button", { name: "Cancel" }).click();
    await expectUrl(page, "/auth/error?error=access_denied", "after Cancel");
    await expectText(page.getByRole("heading", { level: 1 }), "You cancelled signing in", "the error page's heading");
    await expectText(page.locator("#error-text"), /You chose Cancel/, "the explanation");
    await expectText(page.locator("#error-code"), "access_denied", "the error code");
    await expectVisible(page.getByRole("link", { name: "Try signing in again" }), "the retry link");
    check((await page.getByRole("link", { name: "Try signing in again" }).getAttribute("href")) === "/api/auth/authorize", "the retry link's target");
    check((await page.getByRole("link", { name: "Back to the home page" }).getAttribute("href")) === "/", "the home link's target");
    check((await page.title()).startsWith("You cancelled signing in"), `the title is ${JSON.stringify(await page.title())}`);
    check((await sessionCookies(context)).length === 0, "a session cookie after Cancel");
    await visited(page, "error-cancelled");
  });

  await step("every code the sign-in can redirect with gets its own explanation", async () => {
    // The codes authorize and callback (the routes that redirect here) can
    // put in `?error=`: their errors' codes (`facts` in
    // crates/sign-in-with-vercel/src/error/mod.rs), and the provider's codes
    // passed on (`provider_error_code` in error/codes.rs), `provider_error`
    // for any other (invalid_request is in both).
    const codes = new Set([
      ...["configuration", "invalid_request", "sign_in_expired", "invalid_state", "invalid_response", "token_rejected"],
      ...["provider_unavailable", "invalid_token", "unstorable_token", "store_unavailable", "not_signed_in"],
      ...["access_denied", "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope", "server_error"],
      ...["temporarily_unavailable", "interaction_required", "login_required", "account_selection_required", "consent_required"],
      ...["invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported", "registration_not_supported"],
      "provider_error",
    ]);
    const generic = ["Sign-in did not complete", "The sign-in service returned an error. Please try again."];
    for (const code of codes) {
      await page.goto(`${APP_URL}/auth/error?error=${code}`);
      await expectText(page.locator("#error-code"), code, `the code ${code}`);
      const heading = (await page.getByRole("heading", { level: 1 }).textContent()).trim();
      const text = (await page.locator("#error-text").textContent()).trim();
      // provider_error's heading is the generic one; its explanation is not.
      if (code === "provider_error") check(text !== generic[1], `${code} gets the generic explanation`);
      else check(heading !== generic[0], `${code} gets the generic heading`);
    }
  });

  await step("An error code that names a built-in property gets the generic explanation", async () => {
    await page.goto(`${APP_URL}/auth/error?error=constructor`);
    await expectText(page.getByRole("heading", { level: 1 }), "Sign-in did not complete", "the generic heading");
    await expectText(page.locator("#error-text"), "The sign-in service returned an error. Please try again.", "the generic explanation");
    await expectText(page.locator("#error-code"), "unknown", "the error code");
  });

  await step("Words in an error code's alphabet that this app never sends are not shown as a code", async () => {
    await page.goto(`${APP_URL}/auth/error?error=account_locked_call_support_on_18005550100`);
    await expectText(page.getByRole("heading", { level: 1 }), "Sign-in did not complete", "the generic heading");
    await expectText(page.locator("#error-code"), "unknown", "the error code");
    check(!(await page.content()).includes("18005550100"), "the address's words are on the page");
  });

  await step("Text in the address that is no error code is not shown as one", async () => {
    await page.goto(`${APP_URL}/auth/error?error=${encodeURIComponent("Account locked: call +1-555-0100")}`);
    await expectText(page.getByRole("heading", { level: 1 }), "Sign-in did not complete", "the generic heading");
    await expectText(page.locator("#error-code"), "unknown", "the error code");
    check(!(await page.content()).includes("555-0100"), "the address's text is on the page");
    await page.goto(`${APP_URL}/auth/error?error=invalid_scope`);
    await expectText(page.locator("#error-text"), /Trying again will not help/, "invalid_scope's explanation");
    await expectText(page.locator("#error-code"), "invalid_scope", "the error code");
  });

  await step("without JavaScript: the home page offers the sign-in link, and no page claims what only its script can know", async () => {
    const plain = await context.newPage();
    const cdp = await context.newCDPSession(plain);
    await cdp.send("Emulation.setScriptExecutionDisabled", { value: true });
    try {
      await plain.goto(`${APP_URL}/`);
      await expectVisible(plain.getByRole("link", { name: "Sign in with Vercel" }), "the sign-in link without JavaScript");
      check((await plain.getByRole("link", { name: "Sign in with Vercel" }).getAttribute("href")) === "/api/auth/authorize", "the no-JS sign-in link's target");
      const home = await plain.locator("main").innerText();
      check(!home.includes("Checking whether"), `the home page says it is checking, forever: ${JSON.stringify(home)}`);
      await plain.goto(`${APP_URL}/profile`);
      const profile = await plain.locator("main").innerText();
      check(!profile.includes("Loading your profile"), `the profile says it is loading, forever: ${JSON.stringify(profile)}`);
      await plain.goto(`${APP_URL}/auth/error?error=access_denied`);
      const error = await plain.locator("main").innerText();
      check(!error.includes("Error code"), `the error page shows a code it did not read: ${JSON.stringify(error)}`);
    } finally {
      await cdp.detach().catch(() => {});
      await plain.close();
    }
  });

  console.log(`\nAll ${stepNumber} steps passed in ${elapsed()}; screenshots:`);
  for (const f of shots) console.log(`  ${f}`);
} catch (error) {
  exitCode = 1;
  console.error(`\nFAIL: ${error instanceof StepError ? error.message : error.stack || error}`);
  if (/Executable doesn't exist|spawn|ENOENT/.test(String(error))) {
    console.error(`Could not start Chromium at ${CHROMIUM} (${CHROMIUM_SOURCE}): set CHROMIUM to another Chromium binary`);
  }
} finally {
  await context?.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(exitCode);
