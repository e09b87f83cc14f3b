'use strict';
// Shared by the tests: a real RabbitMQ (AUTHSTREAM_AMQP_URL, default the local one), a private
// exchange and queue per test, the JSON Schema validator, and simulated Auth0 runtimes.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const amqp = require('amqplib');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const AMQP_URL = process.env.AUTHSTREAM_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/';
const MANAGEMENT_URL = process.env.AUTHSTREAM_RABBITMQ_MANAGEMENT_URL || 'http://127.0.0.1:15672';
const SCHEMA_PATH = path.join(__dirname, '..', '..', 'schemas', 'json', 'authstream.event.1.json');

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validateEnvelope = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')));

async function privateExchange() {
  const name = `t${crypto.randomBytes(5).toString('hex')}-authstream.events`;
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.assertExchange(name, 'topic', { durable: false, autoDelete: false });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, name, '#');
  return {
    name,
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const message = await channel.get(queue, { noAck: true });
        if (message) return message;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no message on ${name} within ${timeoutMs} ms`);
    },
    async close() {
      await channel.deleteExchange(name).catch(() => {});
      await connection.close().catch(() => {});
    },
  };
}

async function management(pathname, init = {}) {
  const { username, password } = new URL(AMQP_URL);
  const response = await fetch(`${MANAGEMENT_URL}${pathname}`, {
    ...init,
    headers: {
      authorization: `Basic ${Buffer.from(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`).toString('base64')}`,
      'content-type': 'application/json',
      ...(init.headers || {}),
    },
  });
  if (!response.ok && response.status !== 404) {
    throw new Error(`${init.method || 'GET'} ${pathname}: ${response.status} ${await response.text()}`);
  }
  return response.status === 204 || response.status === 201 ? null : response.json().catch(() => null);
}

// Real-looking Auth0 users, as each connection delivers them.
const USERS = {
  facebook: {
    user_id: 'facebook|10153795478413712',
    email: 'maria.gomez@example.com',
    email_verified: true,
    name: 'María Gómez',
    given_name: 'María',
    family_name: 'Gómez',
    gender: 'female',
    birthday: '08/12/1991',
    picture: 'https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=1',
    likes: { data: [{ name: 'Nike Running', category: 'Sports', id: '1', created_time: '2015-01-01T00:00:00+0000' }] },
    identities: [
      { provider: 'facebook', user_id: '10153795478413712', connection: 'facebook', isSocial: true, access_token: 'EAAB-secret-token' },
    ],
    created_at: '2026-01-18T19:42:11.846Z',
    user_metadata: {},
    app_metadata: { marketing_consent: true },
  },
  google: {
    user_id: 'google-oauth2|108091299999329986433',
    email: 'jdoe@example.com',
    email_verified: true,
    name: 'John Doe',
    given_name: 'John',
    family_name: 'Doe',
    locale: 'en',
    picture: 'https://lh3.googleusercontent.com/a/photo.jpg',
    identities: [
      { provider: 'google-oauth2', user_id: '108091299999329986433', connection: 'google-oauth2', isSocial: true, access_token: 'ya29.secret', refresh_token: '1//secret' },
    ],
    created_at: '2026-02-01T08:00:00Z',
    user_metadata: { fullContactInfo: { demographics: { age: '33', gender: 'Male' } } },
    app_metadata: {},
  },
  twitter: {
    user_id: 'twitter|1029384756',
    name: 'Runner Joe',
    nickname: 'runnerjoe',
    screen_name: 'runnerjoe',
    location: 'Portland, OR',
    picture: 'https://pbs.twimg.com/profile_images/1/photo.jpg',
    identities: [
      { provider: 'twitter', user_id: '1029384756', connection: 'twitter', isSocial: true, access_token: 'tw-secret', access_token_secret: 'tw-secret-2' },
    ],
    created_at: '2026-03-03T03:03:03.000Z',
  },
  database: {
    user_id: 'auth0|569d401336afe17803eba2ba',
    email: 'johndoe@gmail.com',
    email_verified: false,
    name: 'johndoe@gmail.com',
    nickname: 'johndoe',
    identities: [
      { user_id: '569d401336afe17803eba2ba', provider: 'auth0', connection: 'Username-Password-Authentication', isSocial: false },
    ],
    created_at: '2016-01-18T19:42:11.846Z',
    user_metadata: { interests: ['running', 'yoga'] },
  },
};

// What Auth0 hands a post-login Action.
function postLoginEvent(user, { loginsCount = 5, secrets = {}, query = {}, protocol = 'oidc-basic-profile' } = {}) {
  const provider = user.identities[0].provider;
  return {
    user,
    stats: { logins_count: loginsCount },
    request: {
      ip: '203.0.113.7',
      user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15',
      geoip: { cityName: 'Portland', countryCode: 'US', countryName: 'United States', latitude: 45.52, longitude: -122.68, timeZone: 'America/Los_Angeles' },
      hostname: 'innovashoes.eu.auth0.com',
      query,
    },
    connection: { id: 'con_123', name: user.identities[0].connection, strategy: provider },
    client: { client_id: 'kbyuFDidLLm280LIwVFiazOqjO3ty8KH', name: 'InnovaShoes Web' },
    tenant: { id: 'innovashoes' },
    transaction: { locale: 'en', protocol, prompt: query.prompt ? [query.prompt] : [] },
    secrets,
  };
}

// What Auth0 hands a legacy Rule.
function ruleContext(user, { loginsCount = 5 } = {}) {
  return {
    tenant: 'innovashoes',
    clientID: 'kbyuFDidLLm280LIwVFiazOqjO3ty8KH',
    clientName: 'InnovaShoes Web',
    connection: user.identities[0].connection,
    connectionStrategy: user.identities[0].provider,
    stats: { loginsCount },
    request: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0', geoip: { country_code: 'US', city_name: 'Portland', latitude: 45.52, longitude: -122.68 } },
  };
}

// The Action's `api` object; a publisher must never need it to deny or change a login.
function actionApi() {
  const calls = [];
  const record = (name) => (...args) => calls.push([name, ...args]);
  return { calls, access: { deny: record('access.deny') }, user: { setAppMetadata: record('setAppMetadata') } };
}

// --- Redirects and forms, as Auth0 runs them for the "authstream ask" Action ---------------
// Auth0's redirect tokens are HS256 JWTs: encodeToken signs the payload with iss (the tenant's
// hostname), sub (the user), iat and exp; validateToken reads the token from the /continue
// request (body or query, `tokenParameterName`) and checks its signature, its expiry and that
// its `state` claim is this login's state. Both are simulated here with node:crypto.

const b64 = (value) => Buffer.from(value).toString('base64url');

function signToken(claims, secret) {
  const head = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function verifyToken(token, secret, nowS = Math.floor(Date.now() / 1000)) {
  const [head, body, signature] = String(token || '').split('.');
  if (!head || !body || !signature) throw new Error('The session token is malformed.');
  const expected = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw new Error('The session token is invalid: invalid signature.');
  }
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  if (typeof claims.exp !== 'number' || claims.exp <= nowS) throw new Error('The session token has expired.');
  return claims;
}

// The `api` a post-login Action gets for one call, recording every call and the metadata it
// sets; `resume(event)` is the api of the same login when it continues (same state, same record).
function askApi(event, {
  state = `st-${crypto.randomBytes(6).toString('hex')}`, calls = [], metadata = { user: {}, app: {} },
} = {}) {
  const record = (name) => (...args) => calls.push([name, ...args]);
  return {
    calls,
    metadata,
    state,
    resume: (next) => askApi(next, { state, calls, metadata }),
    access: { deny: record('access.deny') },
    user: {
      setUserMetadata(key, value) { calls.push(['setUserMetadata', key, value]); metadata.user[key] = value; },
      setAppMetadata(key, value) { calls.push(['setAppMetadata', key, value]); metadata.app[key] = value; },
    },
    prompt: { render: record('prompt.render') },
    redirect: {
      encodeToken({ secret, expiresInSeconds = 900, payload = {} }) {
        const iat = Math.floor(Date.now() / 1000);
        const claims = { ...payload, iss: event.request.hostname, sub: event.user.user_id, iat, exp: iat + expiresInSeconds };
        return signToken(claims, secret);
      },
      sendUserTo(url, { query = {} } = {}) {
        const target = new URL(url);
        for (const [key, value] of Object.entries({ ...query, state })) target.searchParams.set(key, value);
        calls.push(['redirect.sendUserTo', target.toString()]);
      },
      validateToken({ secret, tokenParameterName = 'session_token' }) {
        const request = event.request || {};
        const token = (request.body || {})[tokenParameterName] || (request.query || {})[tokenParameterName];
        if (!token) throw new Error(`The ${tokenParameterName} parameter is missing.`);
        const claims = verifyToken(token, secret);
        if (claims.state !== state) throw new Error('The session token is invalid: State in the token does not match the /continue state.');
        return claims;
      },
    },
  };
}

// The shop's form page: it reads the session token Auth0's redirect carried, asks the user, and
// sends them back to /continue (a POST) with a token of its own, signed with the same secret.
function formPage(redirectUrl, secret, answers, { skipped = false, expiresInSeconds = 300 } = {}) {
  const url = new URL(redirectUrl);
  const asked = verifyToken(url.searchParams.get('session_token'), secret);
  const state = url.searchParams.get('state');
  const iat = Math.floor(Date.now() / 1000);
  const claims = { sub: asked.sub, state, answers, skipped, iat, exp: iat + expiresInSeconds };
  return { asked, state, sessionToken: signToken(claims, secret) };
}

// What the Action sees when the user comes back: the same login, with the form page's POST.
function continueEvent(event, { state, sessionToken }) {
  return { ...event, request: { ...event.request, query: { state }, body: { session_token: sessionToken } } };
}

// The user on their next login, once Auth0 applied the metadata the Actions set.
function withMetadata(user, api) {
  return {
    ...user,
    user_metadata: { ...(user.user_metadata || {}), ...api.metadata.user },
    app_metadata: { ...(user.app_metadata || {}), ...api.metadata.app },
  };
}

module.exports = {
  AMQP_URL, MANAGEMENT_URL, USERS, actionApi, askApi, continueEvent, formPage, management,
  postLoginEvent, privateExchange, ruleContext, signToken, validateEnvelope, verifyToken, withMetadata,
};
