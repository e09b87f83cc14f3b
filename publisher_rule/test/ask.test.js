'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');

const ask = require('../ask');
const action = require('../action');
const publisher = require('../publisher');
const gaps = require('../gaps');
const { askBundle } = require('../scripts/build');
const {
  AMQP_URL, USERS, askApi, continueEvent, formPage, postLoginEvent, privateExchange, signToken,
  validateEnvelope, withMetadata,
} = require('./helpers');

after(() => publisher.close());

const SECRET = 'form-page-secret-7f3a9c2e51b84d06';
const REDIRECT = { FORM_URL: 'https://shop.innovashoes.example/complete-profile', SESSION_TOKEN_SECRET: SECRET };
// A database user: no birthday, no gender, no interests (USERS.database has declared interests).
const NEWCOMER = { ...USERS.database, user_id: 'auth0|65a1c0ffee', user_metadata: {}, app_metadata: {} };
const ANSWERS = { birthday: '1990-05-17', gender: 'Male', interests: ['running', 'knitting'] };

function quietly() {
  const lines = [];
  const original = console.log;
  console.log = (...args) => lines.push(args.join(' '));
  return { lines, restore: () => { console.log = original; } };
}

async function login(user, { loginsCount = 2, secrets = REDIRECT, ...options } = {}) {
  const event = postLoginEvent(user, { loginsCount, secrets, ...options });
  const api = askApi(event);
  const logs = quietly();
  try {
    await ask.onExecutePostLogin(event, api);
  } finally {
    logs.restore();
  }
  return { event, api, logs: logs.lines.join('\n') };
}

async function comeBack(event, api, request) {
  const logs = quietly();
  try {
    const resumed = continueEvent(event, request);
    await ask.onContinuePostLogin(resumed, api.resume(resumed));
  } finally {
    logs.restore();
  }
  return logs.lines.join('\n');
}

function redirected(api) {
  const call = api.calls.find(([name]) => name === 'redirect.sendUserTo');
  return call && call[1];
}

test('a user still missing facts at the second login is sent to the form with a signed token', async () => {
  const { api } = await login(NEWCOMER);
  const url = redirected(api);
  assert.ok(url.startsWith(`${REDIRECT.FORM_URL}?session_token=`), url);
  const { asked } = formPage(url, SECRET, {});
  assert.deepEqual(asked.missing, ['birthday', 'gender', 'interests']);
  assert.equal(asked.sub, NEWCOMER.user_id);
  assert.equal(asked.continue_uri, 'https://innovashoes.eu.auth0.com/continue');
  assert.deepEqual(asked.interest_choices, gaps.DEFAULT_INTERESTS);
  // Remembered before the user leaves, so closing the form does not mean being asked again.
  assert.ok(Date.now() - Date.parse(api.metadata.app[gaps.ASKED_AT]) < 5000);
  assert.ok(!api.calls.some(([name]) => name === 'access.deny'));
});

test('the answers come back signed and are stored in user_metadata; unknown ones are left out', async () => {
  const { event, api } = await login(NEWCOMER);
  const logs = await comeBack(event, api, formPage(redirected(api), SECRET, ANSWERS));
  assert.deepEqual(api.metadata.user, { birthday: '1990-05-17', gender: 'male', interests: ['running'] });
  assert.match(logs, /stored birthday, gender, interests/);
});

test('skipping the form stores nothing and the login goes on', async () => {
  const { event, api } = await login(NEWCOMER);
  await comeBack(event, api, formPage(redirected(api), SECRET, ANSWERS, { skipped: true }));
  assert.deepEqual(api.metadata.user, {});
  assert.ok(!api.calls.some(([name]) => name === 'access.deny'));
});

test('a tampered, forged, expired, replayed or misdirected token is refused: nothing stored, login goes on', async () => {
  const { event, api } = await login(NEWCOMER);
  const page = formPage(redirected(api), SECRET, ANSWERS);
  const [head, body, signature] = page.sessionToken.split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url'));
  const tampered = `${head}.${Buffer.from(JSON.stringify({ ...claims, answers: { ...ANSWERS, gender: 'female' } })).toString('base64url')}.${signature}`;
  const now = Math.floor(Date.now() / 1000);
  const refused = {
    tampered,
    'signed with another secret': signToken(claims, 'not-the-form-page-secret-000000'),
    expired: signToken({ ...claims, exp: now - 1 }, SECRET),
    'for another login (state)': signToken({ ...claims, state: 'st-other-login' }, SECRET),
    'for another user': signToken({ ...claims, sub: 'auth0|someone-else' }, SECRET),
    missing: undefined,
  };
  for (const [what, sessionToken] of Object.entries(refused)) {
    const logs = await comeBack(event, api, { state: page.state, sessionToken });
    assert.deepEqual(api.metadata.user, {}, what);
    assert.match(logs, /answers refused/, what);
  }
  assert.ok(!api.calls.some(([name]) => name === 'access.deny' || name === 'setUserMetadata'));
});

test('when not to ask', async () => {
  const complete = { ...NEWCOMER, gender: 'male', user_metadata: { birthday: '1990-05-17', interests: ['running'] } };
  const askedLastWeek = { ...NEWCOMER, app_metadata: { [gaps.ASKED_AT]: new Date(Date.now() - 7 * 86400000).toISOString() } };
  const cases = {
    'the first login': await login(NEWCOMER, { loginsCount: 1 }),
    'nothing missing': await login(complete),
    'asked within the interval': await login(askedLastWeek),
    'a refresh token exchange': await login(NEWCOMER, { protocol: 'oauth2-refresh-token' }),
    'a silent login (prompt=none)': await login(NEWCOMER, { query: { prompt: 'none' } }),
  };
  for (const [why, { api }] of Object.entries(cases)) assert.deepEqual(api.calls, [], why);
  const later = { ...NEWCOMER, app_metadata: { [gaps.ASKED_AT]: new Date(Date.now() - 31 * 86400000).toISOString() } };
  assert.ok(redirected((await login(later)).api), 'asked again after the interval');
  const fourth = await login(NEWCOMER, { loginsCount: 3, secrets: { ...REDIRECT, ASK_AFTER_LOGINS: '4' } });
  assert.deepEqual(fourth.api.calls, []);
});

test('only what is missing is asked for', async () => {
  const facebook = { ...USERS.facebook, user_metadata: {}, app_metadata: {} }; // gender, birthday, likes
  assert.deepEqual((await login(facebook)).api.calls, []);
  const noBirthday = { ...NEWCOMER, gender: 'female', user_metadata: { interests: ['yoga'] } };
  const { asked } = formPage(redirected((await login(noBirthday)).api), SECRET, {});
  assert.deepEqual(asked.missing, ['birthday']);
});

test('without a form configured (or with a short secret) it does not ask, says why, and the login goes on', async () => {
  for (const secrets of [{ FORM_URL: REDIRECT.FORM_URL }, { ...REDIRECT, SESSION_TOKEN_SECRET: 'short-secret' }]) {
    const { api, logs } = await login(NEWCOMER, { secrets });
    assert.deepEqual(api.calls, []);
    assert.match(logs, /not asking: set FORM_ID, or FORM_URL and SESSION_TOKEN_SECRET \(32\+ characters\)/);
  }
});

test('with Forms for Actions: the form is rendered and its fields are stored', async () => {
  const secrets = { FORM_ID: 'ap_pUMG7a2b3c4d5e6f', INTEREST_CHOICES: 'running, fitness, outdoors' };
  const { event, api } = await login(NEWCOMER, { secrets });
  const [[name, formId, options]] = api.calls.filter(([call]) => call === 'prompt.render');
  assert.equal(name, 'prompt.render');
  assert.equal(formId, 'ap_pUMG7a2b3c4d5e6f');
  assert.deepEqual(options.vars, { missing: 'birthday,gender,interests', interest_choices: 'running,fitness,outdoors' });
  const fields = { birthday: '1988-02-29', gender: 'female', interests: 'running,travel' };
  await ask.onContinuePostLogin({ ...event, prompt: { id: formId, fields } }, api);
  assert.deepEqual(api.metadata.user, { birthday: '1988-02-29', gender: 'female', interests: ['running'] });
});

test('the next login event carries the answers (and the authorize request\'s anonymous id)', async () => {
  const exchange = await privateExchange();
  try {
    const { event, api } = await login(NEWCOMER);
    await comeBack(event, api, formPage(redirected(api), SECRET, ANSWERS));
    const next = postLoginEvent(withMetadata(NEWCOMER, api), {
      loginsCount: 3,
      secrets: { AMQP_URL, AMQP_EXCHANGE: exchange.name },
      query: { anonymous_id: '8c1e7a52-3f0b-4d5e-9a61-2b7c4d8e9f10' },
    });
    await action.onExecutePostLogin(next, askApi(next));
    const envelope = JSON.parse((await exchange.next()).content);
    assert.ok(validateEnvelope(envelope), JSON.stringify(validateEnvelope.errors));
    assert.deepEqual(envelope.user.user_metadata, { birthday: '1990-05-17', gender: 'male', interests: ['running'] });
    assert.deepEqual(envelope.data, { anonymous_id: '8c1e7a52-3f0b-4d5e-9a61-2b7c4d8e9f10' });
  } finally {
    await exchange.close();
  }
});

test('the paste-able ask Action runs in an Actions-like sandbox without npm packages', async () => {
  const sandbox = { console, Buffer, URL, Date, exports: {}, require: () => { throw new Error('no packages'); } };
  sandbox.global = sandbox;
  vm.createContext(sandbox);
  vm.runInContext(askBundle(), sandbox);
  const event = postLoginEvent(NEWCOMER, { loginsCount: 2, secrets: REDIRECT });
  const api = askApi(event);
  const logs = quietly();
  try {
    await sandbox.exports.onExecutePostLogin(event, api);
    const resumed = continueEvent(event, formPage(redirected(api), SECRET, ANSWERS));
    await sandbox.exports.onContinuePostLogin(resumed, api.resume(resumed));
  } finally {
    logs.restore();
  }
  // (Arrays made inside the sandbox have its own prototype: compare them as JSON.)
  assert.deepEqual(JSON.parse(JSON.stringify(api.metadata.user)), { birthday: '1990-05-17', gender: 'male', interests: ['running'] });
});
