// A hostile OpenID Provider for tests/oauth2_mock_server.rs: axa-group's
// oauth2-mock-server (an issuer of RS256 JWTs with discovery, JWKS, token,
// userinfo, revocation and introspection endpoints), whose hooks spoil one
// answer at a time, and whose key set holds keys unfit for its ID tokens.
// `POST /_fault/<name>` arms a fault; the next answer it applies to (the
// discovery document, the authorization redirect, the token response,
// userinfo) carries it, and
// disarms it. `GET /_fault` says what is still armed, so that a test sees
// its fault was used.
//
// Environment: PORT (0: any), HOST (127.0.0.1), EXPIRES_IN (seconds the
// tokens live; 3600 unless set). Prints `READY {"port":…,"issuer":…}`.

import http from "node:http";
import { createHmac, createPrivateKey, createPublicKey, createSign, generateKeyPairSync } from "node:crypto";
import { OAuth2Issuer, OAuth2Service } from "oauth2-mock-server";

const host = process.env.HOST || "127.0.0.1";
const expiresIn = Number(process.env.EXPIRES_IN || 3600);

const issuer = new OAuth2Issuer();
await issuer.keys.generate("RS256");
const service = new OAuth2Service(issuer);
const [privateJwk] = issuer.keys.toJSON(true);
const [publicJwk] = issuer.keys.toJSON();
const privateKey = createPrivateKey({ key: privateJwk, format: "jwk" });

const b64 = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const unb64 = (part) => JSON.parse(Buffer.from(part, "base64url").toString());
const now = () => Math.floor(Date.now() / 1000);

/// `header` and `payload` signed by `key` (the issuer's unless said),
/// RS256 unless `hash` says otherwise (the header's `alg` is the caller's).
function sign(header, payload, hash = "RSA-SHA256", key = privateKey) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createSign(hash).update(input).sign(key).toString("base64url")}`;
}

/// A new key pair: its private key, and its public JWK with `kid` and
/// `members` (`alg`, `use`, `key_ops`).
function keyPair(kind, options, kid, members) {
  const pair = generateKeyPairSync(kind, options);
  return { kid, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, ...members } };
}
/// Keys the key set publishes beside the issuer's, each unfit for an RS256
/// ID token: the key set stays usable for the issuer's key (a provider's
/// set holds encryption keys and others), and a token signed by one of
/// them is refused.
const UNFIT = {
  key_weak_1024: keyPair("rsa", { modulusLength: 1024 }, "weak-1024", { alg: "RS256", use: "sig" }),
  key_use_enc: keyPair("rsa", { modulusLength: 2048 }, "encryption-key", { alg: "RS256", use: "enc" }),
  key_ops_encrypt: keyPair("rsa", { modulusLength: 2048 }, "encrypt-only", { alg: "RS256", key_ops: ["encrypt"] }),
  key_alg_rs512: keyPair("rsa", { modulusLength: 2048 }, "rs512-key", { alg: "RS512", use: "sig" }),
};
const ecKey = keyPair("ec", { namedCurve: "P-256" }, "ec-key", { alg: "ES256", use: "sig" });
/// A key the set never publishes.
const unpublished = keyPair("rsa", { modulusLength: 2048 }, "unpublished", { alg: "RS256" });
/// A key the set publishes from the moment its fault is armed: a rotation
/// the relying party has not seen, which a refetch finds.
const rotated = keyPair("rsa", { modulusLength: 2048 }, "rotated-in", { alg: "RS256", use: "sig" });
let rotatedPublished = false;

/// The key set: the issuer's key and the others.
function keySet() {
  const keys = [...issuer.keys.toJSON(), ...Object.values(UNFIT).map((k) => k.jwk), ecKey.jwk];
  if (rotatedPublished) keys.push(rotated.jwk);
  return { keys };
}

/// What each key fault signs the ID token with: its `kid` and key.
const KEYS = {
  ...UNFIT,
  key_unpublished: unpublished,
  // RS256 by the issuer's key, under the `kid` of an EC key.
  key_of_another_type: { kid: ecKey.kid, privateKey },
  // Accepted: a key the cached set lacks, found by a refetch.
  key_rotated: rotated,
};

/// What each fault does to the ID token's header and claims (re-signed
/// with the issuer's own key: only the named check can refuse it).
const CLAIMS = {
  aud_other: (h, p) => { p.aud = "another-client"; },
  aud_extra: (h, p) => { p.aud = [p.aud, "another-client"]; },
  azp_other: (h, p) => { p.azp = "another-client"; },
  iss_other: (h, p) => { p.iss = "http://127.0.0.1:1"; },
  iss_trailing_slash: (h, p) => { p.iss = `${p.iss}/`; },
  expired: (h, p) => { p.exp = now() - 600; p.iat = p.exp - 3600; p.nbf = p.iat; },
  exp_missing: (h, p) => { delete p.exp; },
  iat_future: (h, p) => { p.iat = now() + 3600; p.exp = p.iat + 3600; },
  iat_missing: (h, p) => { delete p.iat; },
  nbf_future: (h, p) => { p.nbf = now() + 3600; },
  nonce_other: (h, p) => { p.nonce = "not-the-nonce"; },
  nonce_missing: (h, p) => { delete p.nonce; },
  sub_missing: (h, p) => { delete p.sub; },
  sub_other: (h, p) => { p.sub = "mallory"; },
  at_hash_wrong: (h, p) => { p.at_hash = "AAAAAAAAAAAAAAAAAAAAAA"; },
  kid_unknown: (h) => { h.kid = "unknown-kid"; },
  kid_absent: (h) => { delete h.kid; },
  crit: (h) => { h.crit = ["exp"]; },
  typ_at_jwt: (h) => { h.typ = "at+jwt"; },
  typ_logout_jwt: (h) => { h.typ = "logout+jwt"; },
};

/// Faults of the whole token response.
const RESPONSE = {
  signature_swapped: (body) => {
    const [h, p] = body.id_token.split(".");
    body.id_token = `${h}.${p}.${body.access_token.split(".")[2]}`;
  },
  alg_none: (body) => {
    const [, p] = body.id_token.split(".");
    body.id_token = `${b64({ alg: "none", typ: "JWT" })}.${p}.`;
  },
  // HMAC keyed with the issuer's public key: the algorithm confusion of
  // RFC 8725 §2.1.
  hs256_public_key: (body) => {
    const [, p] = body.id_token.split(".");
    const pem = createPublicKey({ key: publicJwk, format: "jwk" }).export({ type: "spki", format: "pem" });
    const input = `${b64({ alg: "HS256", typ: "JWT", kid: publicJwk.kid })}.${p}`;
    body.id_token = `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
  },
  // RS512 by the right key, which the metadata does not list.
  rs512_unlisted: (body) => {
    const [h, p] = body.id_token.split(".");
    body.id_token = sign({ ...unb64(h), alg: "RS512" }, unb64(p), "RSA-SHA512");
  },
  id_token_missing: (body) => { delete body.id_token; },
  id_token_number: (body) => { body.id_token = 42; },
  token_type_mac: (body) => { body.token_type = "mac"; },
  access_token_missing: (body) => { delete body.access_token; },
  // Over the relying party's limit on an answer's size.
  token_huge: (body) => { body.padding = "x".repeat(1024 * 1024); },
};

/// Faults of the token endpoint's timing: an answer 12 s late, past the
/// relying party's deadline.
const SLOW = { token_slow: 12_000 };

/// Faults of the token endpoint's status and body.
const STATUS = {
  invalid_grant: { statusCode: 400, body: { error: "invalid_grant" } },
  invalid_client: { statusCode: 401, body: { error: "invalid_client" } },
  server_error_html: { statusCode: 500, body: "<html><body>Internal error</body></html>" },
};

/// Faults of the authorization response (the redirect to the callback).
const REDIRECT = {
  state_other: (q) => { q.set("state", "not-the-state"); },
  state_missing: (q) => { q.delete("state"); },
  code_missing: (q) => { q.delete("code"); },
  code_twice: (q) => { q.append("code", "another-code"); },
  iss_param_other: (q) => { q.set("iss", "http://127.0.0.1:1"); },
  error_access_denied: (q) => { q.delete("code"); q.set("error", "access_denied"); },
  error_unknown_with_text: (q) => { q.delete("code"); q.set("error", "account_locked<script>alert(1)</script>"); q.set("error_description", "<script>alert(1)</script>"); },
};

/// Faults of the discovery document (OpenID Connect Discovery 1.0 §3,
/// §4.3).
const DISCOVERY = {
  discovery_issuer_other: (doc) => { doc.issuer = "http://127.0.0.1:1"; },
  discovery_jwks_uri_missing: (doc) => { delete doc.jwks_uri; },
  discovery_authorization_endpoint_script: (doc) => { doc.authorization_endpoint = "javascript:alert(document.cookie)"; },
  discovery_token_endpoint_plain_http_elsewhere: (doc) => { doc.token_endpoint = "http://token.example/token"; },
  discovery_not_json: () => "<html>maintenance</html>",
  // RFC 9207 §3: a promise of `iss` in every authorization response,
  // which this provider does not keep.
  discovery_iss_parameter_promised: (doc) => { doc.authorization_response_iss_parameter_supported = true; },
};

/// Faults of userinfo.
const USERINFO = {
  userinfo_sub_other: { statusCode: 200, body: { sub: "mallory", name: "Mallory" } },
  userinfo_invalid_token: { statusCode: 401, body: { error: "invalid_token" } },
  userinfo_not_json: { statusCode: 200, body: "<html>not json</html>" },
};

const KNOWN = new Set([CLAIMS, KEYS, RESPONSE, STATUS, SLOW, REDIRECT, DISCOVERY, USERINFO].flatMap(Object.keys));
let armed = null;
/// The armed fault if it is one of `table`'s, disarmed.
function take(table) {
  if (armed === null || !Object.hasOwn(table, armed)) return null;
  const fault = armed;
  armed = null;
  return fault;
}

// Every token the issuer signs lives EXPIRES_IN seconds.
service.on("beforeTokenSigning", (token) => {
  token.payload.exp = token.payload.iat + expiresIn;
});

service.on("beforeResponse", (response) => {
  const body = response.body;
  if (typeof body.expires_in === "number") body.expires_in = expiresIn;
  // An ID token's faults wait for an answer with an ID token (an error
  // answer leaves them armed, and the test sees it).
  if (typeof body.id_token === "string") {
    const [h, p] = body.id_token.split(".");
    let fault = take(CLAIMS);
    if (fault !== null) {
      const header = unb64(h);
      const payload = unb64(p);
      CLAIMS[fault](header, payload);
      body.id_token = sign(header, payload);
      return;
    }
    fault = take(KEYS);
    if (fault !== null) {
      const { kid, privateKey: key } = KEYS[fault];
      body.id_token = sign({ ...unb64(h), kid }, unb64(p), "RSA-SHA256", key);
      return;
    }
  }
  let fault = take(RESPONSE);
  if (fault !== null) {
    RESPONSE[fault](body);
    return;
  }
  fault = take(STATUS);
  if (fault !== null) {
    response.statusCode = STATUS[fault].statusCode;
    response.body = STATUS[fault].body;
  }
});

service.on("beforeAuthorizeRedirect", (redirect) => {
  const fault = take(REDIRECT);
  if (fault !== null) REDIRECT[fault](redirect.url.searchParams);
});

service.on("beforeUserinfo", (response) => {
  const fault = take(USERINFO);
  if (fault !== null) Object.assign(response, USERINFO[fault]);
});

const handler = service.requestHandler;
const server = http.createServer(async (req, res) => {
  const arm = /^\/_fault\/([a-z0-9_]+)$/.exec(req.url);
  if (req.method === "POST" && arm) {
    if (!KNOWN.has(arm[1])) {
      res.writeHead(400, { "content-type": "text/plain" }).end(`unknown fault ${arm[1]}`);
      return;
    }
    armed = arm[1];
    if (armed === "key_rotated") rotatedPublished = true;
    res.writeHead(204).end();
    return;
  }
  if (req.method === "GET" && req.url === "/.well-known/openid-configuration" && !req.headers["x-unspoiled"]) {
    const fault = take(DISCOVERY);
    if (fault !== null) {
      // The document as the provider writes it, then spoiled.
      const own = await fetch(`${issuer.url}/.well-known/openid-configuration`, { headers: { "x-unspoiled": "1" } });
      const doc = await own.json();
      const spoiled = DISCOVERY[fault](doc);
      const body = typeof spoiled === "string" ? spoiled : JSON.stringify(doc);
      res.writeHead(200, { "content-type": typeof spoiled === "string" ? "text/html" : "application/json" }).end(body);
      return;
    }
  }
  if (req.method === "POST" && req.url === "/token") {
    const fault = take(SLOW);
    if (fault !== null) {
      setTimeout(() => handler(req, res), SLOW[fault]);
      return;
    }
  }
  if (req.method === "GET" && req.url === "/jwks") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(keySet()));
    return;
  }
  if (req.method === "GET" && req.url === "/_fault") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ armed }));
    return;
  }
  handler(req, res);
});
server.listen(Number(process.env.PORT || 0), host, () => {
  const { port } = server.address();
  issuer.url = `http://${host}:${port}`;
  console.log(`READY ${JSON.stringify({ port, issuer: issuer.url })}`);
});
