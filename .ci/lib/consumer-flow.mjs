// The consumer project's function, proved from outside, for .ci/consumer:
// a real sign-in through the app's own functions (authorize, callback)
// against the emulator binary, then the consumer's protected function,
// built by `vercel build`, asked without and with the session cookie.
//
// Each function listens on its own port on localhost; cookies belong to a
// host, not a port, as in a browser, so the session the app's callback
// sets reaches the consumer's function. The emulator's pages (a login
// screen, the consent page) are answered by submitting their form with
// the button named `Allow` (or the one that signs in).
//
// Environment (set by .ci/consumer): AUTHORIZE, CALLBACK, HELLO (their
// ports), ISSUER (the emulator's origin). Prints ok/FAIL lines; exits 1
// when anything failed.

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`consumer-flow: ${name} is not set`);
    process.exit(2);
  }
  return value;
};
const AUTHORIZE = `http://localhost:${env("AUTHORIZE")}`;
const HELLO = `http://localhost:${env("HELLO")}`;
const ISSUER = env("ISSUER");

let failed = 0;
function check(condition, what, detail = "") {
  console.log(`  ${condition ? "ok  " : "FAIL"}  ${what}${condition || !detail ? "" : `: ${detail}`}`);
  if (!condition) failed += 1;
  return condition;
}

// Cookies per host (ports ignored, as browsers do), Max-Age honoured.
const jar = new Map();
function store(url, response) {
  const host = new URL(url).hostname;
  const cookies = jar.get(host) ?? new Map();
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(";");
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const maxAge = attributes.map((a) => a.trim()).find((a) => /^max-age=/i.test(a));
    if (value === "" || (maxAge && Number(maxAge.split("=")[1]) <= 0)) cookies.delete(name);
    else cookies.set(name, value);
  }
  jar.set(host, cookies);
}
function cookieHeader(url) {
  const cookies = jar.get(new URL(url).hostname);
  return cookies && cookies.size ? [...cookies].map(([n, v]) => `${n}=${v}`).join("; ") : null;
}

async function request(method, url, form) {
  const headers = { accept: "text/html,application/json" };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, { method, headers, body, redirect: "manual" });
  store(url, response);
  const text = await response.text();
  return { url, status: response.status, location: response.headers.get("location"), text };
}

// The form of an HTML page: its action, hidden and checked inputs, buttons.
function formOf(page) {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(page.text);
  if (!form) return null;
  const attr = (tag, name) => {
    const m = new RegExp(`\\b${name}="([^"]*)"`, "i").exec(tag);
    return m ? m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&") : null;
  };
  const fields = {};
  for (const [input] of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const type = (attr(input, "type") || "text").toLowerCase();
    const name = attr(input, "name");
    if (name && (type === "hidden" || (type === "radio" && /\bchecked\b/i.test(input)))) {
      fields[name] = attr(input, "value") ?? "";
    }
  }
  const buttons = [...form[1].matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/gi)].map(([tag, label]) => ({
    name: attr(tag, "name"),
    value: attr(tag, "value") ?? "",
    label: label.replace(/<[^>]*>/g, "").trim(),
  }));
  const action = new URL(attr(/<form\b[^>]*>/i.exec(form[0])[0], "action") || page.url, page.url).toString();
  return { action, fields, buttons };
}

// Follows redirects; answers the emulator's pages until back on the app.
async function signIn() {
  let page = await request("GET", `${AUTHORIZE}/api/auth/authorize?next=/hello`);
  for (let hops = 0; hops < 12; hops += 1) {
    if (page.status >= 300 && page.status < 400 && page.location) {
      const next = new URL(page.location, page.url).toString();
      if (!next.startsWith(ISSUER) && new URL(next).pathname === "/hello") return next;
      page = await request("GET", next);
      continue;
    }
    if (page.status === 200 && page.url.startsWith(ISSUER)) {
      const form = formOf(page);
      const button = form?.buttons.find((b) => /^(allow|continue|sign in)/i.test(b.label)) ?? form?.buttons[0];
      if (!form || !button) break;
      const fields = { ...form.fields };
      if (button.name) fields[button.name] = button.value;
      page = await request("POST", form.action, fields);
      continue;
    }
    break;
  }
  check(false, "the sign-in ends back on the app", `${page.status} ${page.url} ${page.text.slice(0, 200)}`);
  return null;
}

const anonymous = await fetch(`${HELLO}/api/hello`, { redirect: "manual" });
check(anonymous.status === 401, "the protected function answers 401 without a cookie", String(anonymous.status));
const landed = await signIn();
check(landed !== null, "a real sign-in through the app's authorize and callback functions against the emulator");
const hello = await request("GET", `${HELLO}/api/hello`);
check(hello.status === 200, "with the session cookie it answers 200", `${hello.status} ${hello.text.slice(0, 200)}`);
check(hello.text === "Hello, Demo User!", "with the user's name", JSON.stringify(hello.text.slice(0, 200)));
process.exit(failed ? 1 : 0);
