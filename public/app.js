// Pages of the Sign in with Vercel app. No framework, no build step, no
// third-party resources; everything from outside is set with textContent.

const channel = "BroadcastChannel" in window ? new BroadcastChannel("auth") : null;
const SIGNED_OUT_KEY = "auth:signed-out";

const $ = (id) => document.getElementById(id);

// Set once this page knows the user is signed out (here or in another
// tab): an answer that was on its way since must not show them again.
let signedOut = false;

// A page restored from the back/forward cache (Back after signing out)
// would show what it showed before: load it afresh instead.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

// The sign-out POSTs send the page's origin (`Origin`, `Referer`) to this
// app, which refuses a POST it cannot tell is its own; the pages' own
// policy (no-referrer) would hide it.
const SAME_ORIGIN_POST = { method: "POST", headers: { accept: "application/json" }, referrerPolicy: "same-origin" };

function show(id, visible) {
  const el = $(id);
  if (el) el.hidden = !visible;
}

function setStatus(text) {
  const status = $("status");
  if (status) {
    // Never hidden: a live region that is shown and filled at once is
    // not announced. Empty, it takes no room (.status:empty in app.css).
    status.textContent = text;
  }
}

// Busy, yet still focusable: a disabled button drops the keyboard focus
// to <body>. Returns what makes it idle again, or null when the button is
// busy already (aria-disabled, unlike disabled, does not stop a click).
function setBusy(button, text) {
  if (button.getAttribute("aria-disabled") === "true") return null;
  const label = button.textContent;
  button.setAttribute("aria-disabled", "true");
  button.textContent = text;
  return () => {
    button.removeAttribute("aria-disabled");
    button.textContent = label;
  };
}

// What the user was working in went away: focus (and a screen reader) go
// to what replaced it, the status line when it says something, else the
// signed-out section's heading (shown by then: a hidden one takes no focus).
function focusReplacement() {
  const status = $("status");
  const target = status && status.textContent ? status : $("signed-out-title");
  if (!target) return;
  target.tabIndex = -1;
  target.focus();
}

// A request whose session was being refreshed by a parallel request (in
// another function instance) answers 409: the newer session cookie is on
// its way, so a retry tells whether the user is still signed in. Usually
// the first does; a refresh waiting on a slow provider may take a second,
// later one. A 409 after that is the answer.
const CONFLICT_RETRY_MS = [250, 1000];

async function fetchApi(path, options = {}) {
  const send = () => fetch(path, { headers: { accept: "application/json" }, ...options });
  let response = await send();
  for (const delay of CONFLICT_RETRY_MS) {
    if (response.status !== 409) break;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, delay));
    response = await send();
  }
  return response;
}

// Who is signed in, from the session cookie: no provider call, and a
// signed-out visitor gets 200 {"user": null}, not an error.
async function fetchSession() {
  const response = await fetchApi("/api/auth/session");
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error_description || `HTTP ${response.status}`);
  return data.user || null;
}

// The user as Vercel describes them now (asks the provider).
async function fetchUser() {
  const response = await fetchApi("/api/user-info");
  if (response.status === 401) {
    await response.body?.cancel();
    return null;
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error_description || `HTTP ${response.status}`);
  return data.userInfo;
}

// The signed-in section gives way to the signed-out one; the focus, if it
// was in the first, follows to what replaced it.
function showSignedOut() {
  const hadFocus = $("signed-in")?.contains(document.activeElement) ?? false;
  show("signed-in", false);
  show("signed-out", true);
  if (hadFocus) focusReplacement();
}

function renderSignedOut() {
  // The signed-out section says so itself on the profile page.
  renderSignedOutWith(document.body.dataset.page === "home" ? "You are signed out." : "");
}

// Sign-out in one tab shows in the others: BroadcastChannel where
// available, the storage event otherwise. `ended`: the server ended the
// session on its own (a 401 where the user was signed in), which a tab
// checks before it believes it: the session may have been replaced
// meanwhile (a refresh another instance won, whose new cookie came later).
// Each announcement has an id, the same on both paths: a tab that hears it
// on both acts once (an ended session is checked with one request).
function announceSignOut(ended = false) {
  const announcement = { type: "signed-out", ended, id: `${Date.now()}.${Math.random().toString(36).slice(2)}` };
  if (channel) channel.postMessage(announcement);
  try {
    localStorage.setItem(SIGNED_OUT_KEY, JSON.stringify(announcement));
  } catch {
    // Storage may be disabled; the channel is enough.
  }
}

function onSignOutElsewhere(callback) {
  const heard = new Set();
  const told = async (data) => {
    if (!data || data.type !== "signed-out") return;
    const ended = data.ended === true;
    const id = typeof data.id === "string" ? data.id : "";
    if (id) {
      if (heard.has(id)) return;
      heard.add(id);
    }
    if (ended) {
      try {
        if (await fetchSession()) return;
      } catch {
        return;
      }
    }
    callback();
  };
  if (channel) {
    channel.addEventListener("message", (event) => told(event.data));
  }
  window.addEventListener("storage", (event) => {
    if (event.key !== SIGNED_OUT_KEY || event.newValue === null) return;
    try {
      told(JSON.parse(event.newValue));
    } catch {
      // Not an announcement of these pages.
    }
  });
}

// The other tabs are told only once the server has confirmed: a 200, or a
// 401 that says there was no session left to end. The answer says whether
// Vercel revoked the app's tokens; when it could not be reached, the page
// says so and offers to try again (the server keeps the tokens, sealed, for
// a few minutes), instead of quietly leaving them alive.
async function signOut(button, everywhere) {
  const idle = setBusy(button, "Signing out…");
  if (!idle) return;
  setStatus("Signing out…");
  try {
    const path = everywhere ? "/api/auth/signout?everywhere" : "/api/auth/signout";
    const response = await fetch(path, SAME_ORIGIN_POST);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok && response.status !== 401) throw new Error(`HTTP ${response.status}`);
    announceSignOut();
    const notes = [];
    if (everywhere && answer.everywhere === false) {
      notes.push(`You are signed out here, but not on your other devices: ${answer.everywhereError || "this app cannot do that."}`);
    }
    if (answer.retry) {
      notes.push("You are signed out here, but Vercel could not be reached to revoke this app's access.");
      return renderRevocationRetry(notes.join(" "));
    }
    // Nothing left to retry, yet not revoked (the provider offers no
    // revocation, or refused it): the grant stays until the user removes it.
    if (response.ok && answer.revoked === false) {
      notes.push("You are signed out here, but this app's access could not be revoked: remove it in your Vercel Account Settings, under Sign in with Vercel.");
    }
    if (notes.length) return renderSignedOutWith(notes.join(" "));
    window.location.assign("/");
  } catch (error) {
    idle();
    setStatus(`Could not sign out: ${error.message}. Please try again.`);
  }
}

// Signed out, with a note the user should read before leaving.
function renderSignedOutWith(note) {
  signedOut = true;
  setStatus(note);
  showSignedOut();
}

// Signed out here, revocation pending: a button retries it. `?retry`
// retries only the kept revocation: a sign-in made meanwhile in another
// tab (maybe by someone else) is left alone, where a plain sign-out would
// end it.
function renderRevocationRetry(note) {
  renderSignedOutWith(note);
  const retry = statusButton("retry-revocation", "Try again");
  retry?.addEventListener("click", async () => {
    if (!setBusy(retry, "Trying again…")) return;
    try {
      const response = await fetch("/api/auth/signout?retry", SAME_ORIGIN_POST);
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      // Someone signed in since, in another tab: not signed out by this.
      const after = answer.signedIn ? " Someone has signed in again in this browser since; that session goes on (reload to see it)." : "";
      if (answer.retried === 0) {
        // The tokens kept for the retry are gone: kept for ten minutes, or
        // already retried from another tab. Which, this page cannot tell.
        setStatus(`${answer.signedIn ? "Nothing was left to retry." : "You are signed out."} If this app still appears in your Vercel Account Settings, under Sign in with Vercel, remove it there.${after}`);
      } else if (answer.revoked === true) {
        setStatus(answer.signedIn ? `Vercel has revoked the signed-out session's access.${after}` : "Vercel has revoked this app's access. You are signed out.");
      } else if (answer.retry) {
        renderRevocationRetry(`Vercel still cannot be reached. Your session here is over; try again in a moment.${after}`);
      } else {
        // Refused: the grant stays until the user removes it.
        setStatus(`${answer.signedIn ? "The signed-out session's" : "You are signed out here, but this app's"} access could not be revoked: remove it in your Vercel Account Settings, under Sign in with Vercel.${after}`);
      }
    } catch (error) {
      renderRevocationRetry(`Could not reach this app: ${error.message}.`);
    }
    // The button went with the old message: focus the new one.
    if (document.activeElement === document.body) focusReplacement();
  });
}

// A button after the status line's words (a Try again), or none when the
// page has no status line.
function statusButton(action, label) {
  const status = $("status");
  if (!status) return null;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button";
  button.dataset.action = action;
  button.textContent = label;
  status.append(" ", button);
  return button;
}

function bindSignOut() {
  for (const button of document.querySelectorAll('[data-action="sign-out"]')) {
    button.addEventListener("click", () => signOut(button, false));
  }
  for (const button of document.querySelectorAll('[data-action="sign-out-everywhere"]')) {
    button.addEventListener("click", () => signOut(button, true));
  }
}

// A check that failed says so, offers to try again, and shows neither
// section: the user may well be signed in (a refresh still under way
// elsewhere), and the page does not know.
function renderCheckFailed(text) {
  show("signed-in", false);
  show("signed-out", false);
  setStatus(text);
  statusButton("check-again", "Try again")?.addEventListener("click", () => window.location.reload());
}

async function home() {
  setStatus("Checking whether you are signed in…");
  bindSignOut();
  onSignOutElsewhere(renderSignedOut);
  try {
    const user = await fetchSession();
    if (signedOut) return;
    if (!user) return renderSignedOut();
    $("who").textContent = user.name || user.preferred_username || user.email || user.sub;
    show("signed-out", false);
    show("signed-in", true);
    setStatus("");
  } catch (error) {
    if (signedOut) return;
    renderCheckFailed(`Could not check your session: ${error.message}`);
  }
}

function formatTime(seconds) {
  if (typeof seconds !== "number") return "N/A";
  return new Date(seconds * 1000).toLocaleString();
}

// A description list of [label, value] rows; a value that is absent is N/A.
function fillRows(list, rows) {
  for (const [label, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    // A right-to-left value (a name in Hebrew or Arabic) in its own direction.
    dd.dir = "auto";
    dd.textContent = value === undefined || value === null ? "N/A" : String(value);
    list.append(dt, dd);
  }
}

async function validateToken(button) {
  const result = $("token-result");
  const details = $("token-details");
  const errorBox = $("token-error");
  const idle = setBusy(button, "Validating token…");
  if (!idle) return;
  $("token-status").textContent = "Validating token…";
  result.hidden = true;
  errorBox.hidden = true;
  try {
    const response = await fetchApi("/api/validate-token");
    const data = await response.json().catch(() => ({}));
    if (signedOut) return;
    if (response.status === 401) {
      // The server ended the session (Vercel refused its tokens) and
      // deleted its cookies: the other tabs check, and follow.
      renderSignedOut();
      announceSignOut(true);
      return;
    }
    if (!response.ok) throw new Error(data.error_description || `HTTP ${response.status}`);
    const info = data.tokenInfo || {};
    // The mark is for the eye; a screen reader hears the message.
    const mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = "✓";
    $("token-message").replaceChildren(mark, " ", String(data.message));
    details.replaceChildren();
    const rows = [
      ["Token active", info.active ? "Yes" : "No"],
      ["Client ID", info.client_id],
      ["Token type", info.token_type],
      ["Subject (user ID)", info.sub],
      ["Issuer", info.iss],
      ["Token ID (JTI)", info.jti],
      ["Session ID", info.session_id],
      ["Issued at", formatTime(info.iat)],
      ["Expires at", formatTime(info.exp)],
    ];
    fillRows(details, rows);
    // The REST API's own view of the token (GET /v5/user/tokens/current),
    // or why the provider refused to give it.
    const metaSection = $("token-metadata-section");
    const metaList = $("token-metadata");
    const metaError = $("token-metadata-error");
    const meta = data.tokenMetadata;
    metaList.replaceChildren();
    metaList.hidden = true;
    metaError.hidden = true;
    metaSection.hidden = true;
    if (meta && typeof meta === "object") {
      const fromMs = (ms) => (typeof ms === "number" ? formatTime(Math.floor(ms / 1000)) : undefined);
      const metaRows = [
        ["Name", meta.name],
        ["Type", meta.type],
        ["Origin", meta.origin],
        ["Token ID", meta.id],
        ["Created at", fromMs(meta.createdAt)],
        ["Last active", fromMs(meta.activeAt)],
        ["Expires at", meta.expiresAt === undefined || meta.expiresAt === null ? "Never" : fromMs(meta.expiresAt)],
      ];
      fillRows(metaList, metaRows);
      metaList.hidden = false;
      metaSection.hidden = false;
    } else if (typeof data.tokenMetadataError === "string") {
      metaError.textContent = `Vercel's API did not describe this token: ${data.tokenMetadataError}`;
      metaError.hidden = false;
      metaSection.hidden = false;
    }
    result.hidden = false;
    $("token-status").textContent = `${data.message}. The details follow.`;
  } catch (error) {
    errorBox.textContent = `Error: ${error.message}`;
    errorBox.hidden = false;
    $("token-status").textContent = "";
  } finally {
    idle();
  }
}

async function profile() {
  setStatus("Loading your profile…");
  bindSignOut();
  onSignOutElsewhere(renderSignedOut);
  const validate = document.querySelector('[data-action="validate"]');
  validate.addEventListener("click", () => validateToken(validate));
  try {
    // The cookie says whether anyone is signed in; only then is Vercel asked.
    if (!(await fetchSession())) return renderSignedOut();
    const user = await fetchUser();
    if (signedOut) return;
    if (!user) {
      // Signed in a moment ago, and the server has ended the session
      // since (Vercel refused its tokens): the other tabs check, and follow.
      renderSignedOut();
      return announceSignOut(true);
    }
    const name = user.name || user.preferred_username || "";
    $("welcome-name").textContent = name;
    $("name").textContent = user.name || "N/A";
    $("email").textContent = user.email || "N/A";
    $("username").textContent = user.preferred_username || "N/A";
    const picture = $("picture");
    // The hosts a picture may come from are the CSP's img-src (vercel.json,
    // locally the dev server's): that is the boundary; here, only the scheme.
    if (typeof user.picture === "string" && /^(https:|http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/)/.test(user.picture)) {
      // A picture that does not load (or that the page's policy refuses)
      // is left out rather than shown broken.
      picture.addEventListener("error", () => { picture.hidden = true; }, { once: true });
      picture.src = user.picture;
      // The name is beside it: the picture itself says nothing more
      // (alt="" in the page).
      picture.hidden = false;
    }
    show("signed-out", false);
    show("signed-in", true);
    setStatus("");
  } catch (error) {
    if (signedOut) return;
    renderCheckFailed(`Could not load your profile: ${error.message}`);
  }
}

const ERRORS = {
  access_denied: ["You cancelled signing in", "You chose Cancel on Vercel's consent page, so nothing was shared with this app. You can sign in again whenever you like."],
  sign_in_expired: ["The sign-in attempt expired", "Signing in took longer than 10 minutes, was started in another browser, or more than four sign-ins were started at once in this one. Please start again."],
  invalid_state: ["The sign-in attempt could not be verified", "The answer from Vercel did not match the sign-in this browser started, so it was not accepted for your safety. Please start again."],
  invalid_response: ["The sign-in attempt could not be verified", "The answer from the sign-in service was incomplete or came from an unexpected issuer, so it was not accepted. Please start again."],
  invalid_token: ["Vercel's answer could not be verified", "The identity token from Vercel failed its security checks, so you were not signed in."],
  token_rejected: ["The sign-in code was not accepted", "Vercel did not accept the sign-in code (it may have expired or been used already). Please start again."],
  provider_unavailable: ["Vercel is unavailable", "The sign-in service could not be reached or answered with an error. Please try again in a moment."],
  server_error: ["Vercel is unavailable", "The sign-in service had an internal error. Please try again in a moment."],
  temporarily_unavailable: ["Vercel is unavailable", "The sign-in service is temporarily unavailable. Please try again in a moment."],
  configuration: ["This app is not configured correctly", "The site's Sign in with Vercel settings (client ID, client secret or callback URL) are missing or wrong. If you run this site, check its logs for the variable to fix."],
  invalid_request: ["The request was malformed", "The sign-in request had missing, repeated or invalid parameters. Please start again from the home page."],
  unstorable_token: ["The session could not be stored", "The sign-in's tokens are too large to keep in your browser's cookies, so trying again will not help. The site's operator can see why in its logs."],
  login_required: ["Sign-in required", "Vercel asked you to sign in first. Please try again."],
  consent_required: ["Consent required", "Vercel needs your consent to share your details with this app. Please try again."],
  interaction_required: ["Sign-in needs you on Vercel", "Vercel needs you to finish signing in on its own pages. Please try again."],
  account_selection_required: ["Choose an account", "Vercel needs you to choose which account to sign in with. Please try again."],
  invalid_scope: ["This app is not configured correctly", "This app asked Vercel for permissions its settings do not allow (the scopes enabled in the Vercel dashboard). Trying again will not help; if you run this site, check those settings."],
  unauthorized_client: ["This app is not configured correctly", "Vercel does not allow this app to sign people in this way. Trying again will not help; if you run this site, check its Sign in with Vercel settings."],
  unsupported_response_type: ["This app is not configured correctly", "Vercel does not support the kind of sign-in this app asked for. Trying again will not help; if you run this site, check its settings."],
  provider_error: ["Sign-in did not complete", "Vercel answered the sign-in with an error this app does not know. Please try again."],
  not_signed_in: ["You are not signed in", "Your session has ended. Please sign in again."],
  store_unavailable: ["Sessions are unavailable", "The site's session store could not be reached. Please try again in a moment."],
};
// Codes of request objects and dynamic registration (OpenID Connect Core
// §3.1.2.6), which this app never uses: Vercel misread the request.
for (const code of ["invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported", "registration_not_supported"]) {
  ERRORS[code] = ["Vercel did not accept the sign-in request", "Vercel answered with an error about a kind of request this app does not send. Please try again; if it persists, the site's settings need a look."];
}

// Only a code this app sends is shown: anything else in the address is
// someone's text (a link can put words of its choosing there, in any
// alphabet, on this origin).
function errorPage() {
  const params = new URLSearchParams(window.location.search);
  const given = params.get("error") || "";
  const code = Object.hasOwn(ERRORS, given) ? given : "unknown";
  const [title, text] = (Object.hasOwn(ERRORS, code) && ERRORS[code]) || ["Sign-in did not complete", "The sign-in service returned an error. Please try again."];
  $("error-title").textContent = title;
  $("error-text").textContent = text;
  $("error-code").textContent = code;
  $("error-code-line").hidden = false;
  document.title = `${title} · Sign in with Vercel`;
  // A failed sign-in can leave an earlier one standing (a callback opened
  // again from the history, a second sign-in cancelled): say so, and lead
  // on rather than to another sign-in.
  fetchSession()
    .then((user) => {
      if (!user) return;
      const who = user.name || user.preferred_username || user.email || "your Vercel account";
      // The name in an element of its own, isolated (see .given in
      // app.css), never in the sentence's text.
      const name = document.createElement("bdi");
      name.className = "given";
      name.textContent = who;
      $("error-signed-in").replaceChildren("You are still signed in as ", name, ".");
      $("error-signed-in").hidden = false;
      const retry = $("retry");
      retry.textContent = "Continue to your profile";
      retry.href = "/profile";
    })
    .catch(() => {});
}

const pages = { home, profile, error: errorPage };
const page = pages[document.body.dataset.page];
if (page) page();
