// Loopback OpenID Connect issuer for end-to-end tests of the Rust relying party.
//
// Runs panva's oidc-provider (pinned in package.json) configured like Vercel's
// authorization server ("Sign in with Vercel"): authorization code flow only,
// PKCE S256 required for every client, RS256 ID tokens (PS256, ES256, ES384
// and Ed25519 for one client each, as a provider other than Vercel may sign),
// scopes
// `openid email profile offline_access`, rotating refresh tokens, token
// introspection and revocation, userinfo. The provider's own development
// login/consent pages (devInteractions) stay enabled so a test client can walk
// through them with plain HTTP requests and a cookie jar.
//
// Environment:
//   PORT               required; 0 picks an ephemeral port
//   HOST               listen address, default 127.0.0.1
//   ISSUER             default http://127.0.0.1:$PORT (exact, no trailing slash)
//   REDIRECT_URIS      required; comma-separated redirect URIs allowed for every client
//   ACCESS_TOKEN_TTL   seconds, default 3600 (also used for the ID token)
//   SCOPES             the scopes offered, space-separated (the relying party's list)
//   REFRESH_TOKEN_TTL  seconds, default 2592000 (30 days)
//   CONFORM_ID_TOKEN_CLAIMS  "true" to keep scope claims out of the ID token
//                      (default false: ID token carries email/profile claims too)
//   ROTATE_REFRESH_TOKENS  "false" to keep the refresh token on refresh
//                      (RFC 6749 §6 allows it; default true, as Vercel)
//   CLIENT_AUTH_METHODS  the client authentication methods offered and listed
//                      in the metadata, comma-separated (default
//                      client_secret_basic,client_secret_post,none); only the
//                      clients registered for one of them are kept
//   UNLISTED_AUTH_METHODS  "true" to leave every *_endpoint_auth_methods_supported
//                      member out of the discovery document (RFC 8414 §2 then
//                      means client_secret_basic); the methods offered stay
//                      CLIENT_AUTH_METHODS
//
// stdout carries exactly one line, `READY {"issuer":"...","port":N}`, once the
// server accepts requests. Everything else (oidc-provider notices included) goes
// to stderr, with one `ID_TOKEN_HEADER {...}` line (the JOSE header) and one
// `ID_TOKEN_CLAIMS [...]` line (the claims' names, no values) per ID token
// issued. SIGTERM/SIGINT close the server and exit 0.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider prints its development notices with console.info (stdout).
// Keep stdout for the READY line only.
const toStderr = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;

const { default: Provider, errors } = await import('oidc-provider');

function fail(message) {
  process.stderr.write(`oidc-provider e2e: ${message}\n`);
  process.exit(2);
}

function seconds(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) fail(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

if (process.env.PORT === undefined || process.env.PORT === '') fail('PORT is required (0 for an ephemeral port)');
const requestedPort = Number(process.env.PORT);
if (!Number.isSafeInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) fail(`invalid PORT ${JSON.stringify(process.env.PORT)}`);
const host = process.env.HOST || '127.0.0.1';
const redirectUris = (process.env.REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (redirectUris.length === 0) fail('REDIRECT_URIS is required (comma-separated list)');
const accessTokenTtl = seconds('ACCESS_TOKEN_TTL', 3600);
const refreshTokenTtl = seconds('REFRESH_TOKEN_TTL', 30 * 24 * 60 * 60);
const conformIdTokenClaims = process.env.CONFORM_ID_TOKEN_CLAIMS === 'true';
const clientAuthMethods = (process.env.CLIENT_AUTH_METHODS || 'client_secret_basic,client_secret_post,none')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unlistedAuthMethods = process.env.UNLISTED_AUTH_METHODS === 'true';

// The demo user every login resolves to, whatever is typed into the login form.
const DEMO_SUB = 'user_demo_123';
const DEMO_CLAIMS = {
  sub: DEMO_SUB,
  name: 'Demo User',
  preferred_username: 'demo',
  picture: 'http://127.0.0.1/avatar.png',
  email: 'demo@example.com',
  email_verified: true,
};

// Signing keys, fresh per run, published at /jwks with a kid (RFC 7638
// thumbprint), each bound to one algorithm by its `alg`: RSA for RS256, another
// RSA key for PS256, P-256 for ES256, P-384 for ES384. The Ed25519 key has no
// `alg` (RFC 8037 §2 keys often do not): oidc-provider signs Ed25519 and EdDSA
// with it, and the relying party binds it to Ed25519 by its curve.
function thumbprint(members) {
  return crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
function generateRsaSigningKey(alg) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = thumbprint({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return { ...jwk, kid, alg, use: 'sig' };
}
function generateEcSigningKey(namedCurve, alg) {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = thumbprint({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return { ...jwk, kid, alg, use: 'sig' };
}
function generateEd25519SigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = thumbprint({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return { ...jwk, kid, use: 'sig' };
}

const common = {
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: redirectUris,
  id_token_signed_response_alg: 'RS256',
};

const registered = [
  { ...common, client_id: 'post-client', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post' },
  { ...common, client_id: 'basic-client', client_secret: 'basic-secret', token_endpoint_auth_method: 'client_secret_basic' },
  { ...common, client_id: 'public-client', token_endpoint_auth_method: 'none' },
  // One client for each other algorithm: its id and secret are the algorithm's
  // name in lower case, `-client` and `-secret`.
  ...['PS256', 'ES256', 'ES384', 'Ed25519'].map((alg) => ({
    ...common,
    client_id: `${alg.toLowerCase()}-client`,
    client_secret: `${alg.toLowerCase()}-secret`,
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: alg,
  })),
];
const clients = registered.filter((c) => clientAuthMethods.includes(c.token_endpoint_auth_method));

// Listen first so PORT=0 can resolve to the real port before the issuer is fixed.
const server = http.createServer();
server.on('clientError', (err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
});
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, host, () => {
    server.off('error', reject);
    resolve();
  });
}).catch((err) => fail(`cannot listen on ${host}:${requestedPort}: ${err.message}`));
const { port } = server.address();
const issuer = process.env.ISSUER || `http://127.0.0.1:${port}`;
if (issuer.endsWith('/')) fail(`ISSUER must not end with a slash: ${issuer}`);

const provider = new Provider(issuer, {
  clients,
  jwks: {
    keys: [
      generateRsaSigningKey('RS256'),
      generateRsaSigningKey('PS256'),
      generateEcSigningKey('P-256', 'ES256'),
      generateEcSigningKey('P-384', 'ES384'),
      generateEd25519SigningKey(),
    ],
  },
  clientAuthMethods,
  responseTypes: ['code'],
  subjectTypes: ['public'],
  // The relying party's scope list, handed over by the test (SCOPES).
  scopes: (process.env.SCOPES || 'openid email profile offline_access').split(' '),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'picture'],
  },
  conformIdTokenClaims,
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'Ed25519'],
  },
  pkce: {
    // Every client, confidential or public, must send an S256 code_challenge
    // (oidc-provider 9 supports S256 only).
    required: () => true,
  },
  features: {
    devInteractions: { enabled: true },
    // Not part of the Vercel-like surface: keep them out of discovery.
    pushedAuthorizationRequests: { enabled: false },
    dPoP: { enabled: false },
    userinfo: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated client may introspect its own tokens (public clients
      // included, authenticating with client_id only); confidential clients may
      // introspect any token.
      allowedPolicy: (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      // Only the client a token was issued to may revoke it.
      allowedPolicy: (ctx, client, token) => token.clientId === client.clientId,
    },
  },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    // Plain http on loopback: no Secure attribute (oidc-provider only sets it
    // when the request itself is https), SameSite=Lax, HttpOnly.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  ttl: {
    AccessToken: accessTokenTtl,
    IdToken: accessTokenTtl,
    AuthorizationCode: 60,
    RefreshToken: refreshTokenTtl,
    Grant: refreshTokenTtl,
    Session: refreshTokenTtl,
    Interaction: 60 * 60,
  },
  // Refresh tokens whenever the client may use the refresh_token grant and the
  // authorization included offline_access (kept by the middleware below even
  // without prompt=consent).
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: process.env.ROTATE_REFRESH_TOKENS !== 'false',
  clientBasedCORS: () => false,
  async findAccount(ctx, id) {
    return {
      accountId: DEMO_SUB,
      async claims() {
        return { ...DEMO_CLAIMS };
      },
    };
  },
});

// Every login submitted on the dev login form becomes the demo user, so sub,
// grant, tokens and introspection all agree on `user_demo_123`.
const interactionResult = provider.interactionResult.bind(provider);
provider.interactionResult = (req, res, result, options) => {
  if (result?.login) result.login.accountId = DEMO_SUB;
  return interactionResult(req, res, result, options);
};

// oidc-provider accepts client_secret_basic and client_secret_post
// interchangeably for a client registered with either. Be strict, so a test
// catches a relying party that sends its secret the wrong way: basic-client
// must use the Authorization: Basic header, post-client the form body. Applies
// to /token and /token/introspection, and to /token/revocation with one
// exception: there post-client may also use HTTP Basic. This provider's
// metadata has no revocation_endpoint_auth_methods_supported, whose default is
// client_secret_basic (RFC 8414 §2), and every server must accept Basic from a
// client with a secret (RFC 6749 §2.3.1); Vercel's revocation endpoint takes
// Basic only, and the relying party revokes with Basic for that reason.
const revocationPath = new URL(provider.urlFor('revocation')).pathname;
const compareClientSecret = provider.Client.prototype.compareClientSecret;
provider.Client.prototype.compareClientSecret = function strictCompareClientSecret(actual) {
  const viaBasic = /^basic /i.test(Provider.ctx?.headers.authorization ?? '');
  if (this.clientAuthMethod === 'client_secret_basic' && !viaBasic) {
    throw new errors.InvalidClientAuth('client_secret_basic client must authenticate with the Authorization header');
  }
  if (this.clientAuthMethod === 'client_secret_post' && viaBasic && Provider.ctx?.path !== revocationPath) {
    throw new errors.InvalidClientAuth('client_secret_post client must send client_id and client_secret in the request body');
  }
  return compareClientSecret.call(this, actual);
};

// oidc-provider drops offline_access from an authorization request unless
// prompt includes consent. Vercel issues a refresh token for
// `scope=... offline_access` without any prompt, so for such GET /auth requests
// add `consent` to prompt (the dev consent page is shown anyway on a first
// authorization). prompt=none is left alone.
const authorizationPath = new URL(provider.urlFor('authorization')).pathname;
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === authorizationPath) {
    const query = { ...ctx.query };
    const scopes = typeof query.scope === 'string' ? query.scope.split(' ') : [];
    const prompts = typeof query.prompt === 'string' ? query.prompt.split(' ').filter(Boolean) : [];
    if (scopes.includes('offline_access') && !prompts.includes('consent') && !prompts.includes('none')) {
      query.prompt = [...prompts, 'consent'].join(' ');
      ctx.query = query;
    }
  }
  await next();
});

// With UNLISTED_AUTH_METHODS, the discovery document says nothing of how
// clients authenticate at the token, introspection and revocation endpoints,
// as a provider may: RFC 8414 §2 reads that as client_secret_basic.
// Both discovery documents (OpenID Connect Discovery's and RFC 8414's).
const discoveryPaths = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];
if (unlistedAuthMethods) {
  provider.use(async (ctx, next) => {
    await next();
    if (discoveryPaths.includes(ctx.path) && ctx.body && typeof ctx.body === 'object') {
      for (const member of Object.keys(ctx.body)) {
        if (member.endsWith('_endpoint_auth_methods_supported')) delete ctx.body[member];
      }
    }
  });
}

// ID tokens from the token endpoint carry at_hash, as OpenID Connect Core
// §3.1.3.8 allows and providers other than this one send: oidc-provider adds it
// only in the hybrid flow. It hashes the value set here (an opaque access token
// is its jti) with the hash of the ID token's algorithm, as there, so the
// relying party's check of at_hash runs with each algorithm's hash.
const issueIdToken = provider.IdToken.prototype.issue;
provider.IdToken.prototype.issue = function issueWithAtHash(options) {
  const accessToken = this.ctx?.oidc?.entities?.AccessToken;
  if (options?.use === 'idtoken' && typeof accessToken?.jti === 'string') {
    this.set('at_hash', accessToken.jti);
  }
  return issueIdToken.call(this, options);
};

// Each ID token the token endpoint issues: its JOSE header and the names of its
// claims (never the token, nor a claim's value), so that a test can see which
// algorithm and key signed it, and that it carries at_hash.
provider.on('grant.success', (ctx) => {
  const idToken = ctx.body?.id_token;
  if (typeof idToken === 'string') {
    const [header, payload] = idToken.split('.').map((part) => Buffer.from(part, 'base64url').toString());
    process.stderr.write(`ID_TOKEN_HEADER ${header}\n`);
    process.stderr.write(`ID_TOKEN_CLAIMS ${JSON.stringify(Object.keys(JSON.parse(payload)))}\n`);
  }
});

provider.on('server_error', (ctx, err) => {
  process.stderr.write(`server_error ${ctx?.method} ${ctx?.path}: ${err?.stack || err}\n`);
});
for (const event of [
  'authorization.error', 'grant.error', 'introspection.error', 'revocation.error',
  'userinfo.error', 'end_session.error', 'discovery.error', 'jwks.error',
]) {
  provider.on(event, (ctx, err) => {
    const detail = [err?.message, err?.error_description, err?.error_detail].filter(Boolean).join(': ');
    process.stderr.write(`${event} ${ctx?.method} ${ctx?.path}: ${detail}\n`);
  });
}

server.on('request', provider.callback());

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`oidc-provider e2e: ${signal}, shutting down\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

process.stdout.write(`READY ${JSON.stringify({ issuer, port })}\n`);
