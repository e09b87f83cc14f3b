'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');

const rule = require('../rule');
const publisher = require('../publisher');
const { actionBundle, askBundle, ruleBundle } = require('../scripts/build');
const { dependencies } = require('../package.json');
const {
  AMQP_URL, USERS, postLoginEvent, privateExchange, ruleContext, validateEnvelope,
} = require('./helpers');

after(() => publisher.close());

function runRule(fn, user, context, configuration) {
  return new Promise((resolve) => {
    fn(user, context, (error, u, c) => resolve({ error, user: u, context: c }), configuration);
  });
}

test('the legacy Rule publishes the same contract and always calls back', async () => {
  const exchange = await privateExchange();
  try {
    const context = ruleContext(USERS.twitter, { loginsCount: 1 });
    const result = await runRule(rule, USERS.twitter, context, { AMQP_URL, AMQP_EXCHANGE: exchange.name });
    assert.equal(result.error, null);
    assert.equal(result.user, USERS.twitter);
    assert.equal(result.context, context);
    const message = await exchange.next();
    const envelope = JSON.parse(message.content);
    assert.ok(validateEnvelope(envelope), JSON.stringify(validateEnvelope.errors));
    assert.equal(envelope.type, 'auth.signup');
    assert.equal(message.fields.routingKey, 'auth.signup');
    assert.equal(envelope.source, 'auth0-rule');
    assert.equal(envelope.context.connection_strategy, 'twitter');
    assert.ok(!message.content.toString().includes('tw-secret'));
  } finally {
    await exchange.close();
  }
});

test('the Rule calls back even when the broker is unreachable', async () => {
  const context = ruleContext(USERS.database);
  const started = Date.now();
  const result = await runRule(rule, USERS.database, context, {
    AMQP_URL: 'amqp://guest:pw@127.0.0.1:1/',
    PUBLISH_TIMEOUT_MS: '400',
  });
  assert.equal(result.error, null);
  assert.ok(Date.now() - started < 1000);
});

test('the paste-able Rule bundle runs in a Rules-like sandbox and publishes', async () => {
  const exchange = await privateExchange();
  try {
    const required = [];
    const sandbox = {
      console,
      Buffer,
      URL,
      setTimeout,
      clearTimeout,
      globalThis: undefined,
      configuration: { AMQP_URL, AMQP_EXCHANGE: exchange.name },
      require: (name) => {
        required.push(name);
        if (name === `amqplib@${dependencies.amqplib}`) return require('amqplib');
        if (name.startsWith('node:')) return require(name);
        throw new Error(`the Rules runtime would not give ${name}`);
      },
    };
    sandbox.global = sandbox;
    sandbox.globalThis = sandbox;
    vm.createContext(sandbox);
    const authstreamRule = vm.runInContext(`(${ruleBundle()})`, sandbox);
    const context = ruleContext(USERS.google);
    const result = await new Promise((resolve) => {
      authstreamRule(USERS.google, context, (error, u, c) => resolve({ error, u, c }));
    });
    assert.equal(result.error, null);
    const envelope = JSON.parse((await exchange.next()).content);
    assert.ok(validateEnvelope(envelope));
    assert.equal(envelope.type, 'auth.login');
    assert.ok(required.includes(`amqplib@${dependencies.amqplib}`));
    await sandbox.authstreamModules('publisher').close();
  } finally {
    await exchange.close();
  }
});

test('dist/ holds the current builds (run `npm run build` after a change)', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const dist = (name) => fs.readFileSync(path.join(__dirname, '..', 'dist', name), 'utf8');
  assert.equal(dist('rule.paste.js'), ruleBundle());
  assert.equal(dist('action.paste.js'), actionBundle());
  assert.equal(dist('ask.paste.js'), askBundle());
});

test('the paste-able Action runs in an Actions-like sandbox and publishes', async () => {
  const exchange = await privateExchange();
  try {
    const sandbox = {
      console, Buffer, URL, setTimeout, clearTimeout, exports: {},
      require: (name) => (name === 'amqplib' || name.startsWith('node:') ? require(name) : undefined),
    };
    sandbox.global = sandbox;
    vm.createContext(sandbox);
    vm.runInContext(actionBundle(), sandbox);
    const event = postLoginEvent(USERS.database, { secrets: { AMQP_URL, AMQP_EXCHANGE: exchange.name } });
    await sandbox.exports.onExecutePostLogin(event, {});
    const envelope = JSON.parse((await exchange.next()).content);
    assert.ok(validateEnvelope(envelope), JSON.stringify(validateEnvelope.errors));
    assert.equal(envelope.user.user_id, USERS.database.user_id);
    await sandbox.authstreamModules('publisher').close();
  } finally {
    await exchange.close();
  }
});

test('the Rule carries the anonymous id the application passed to /authorize, and nothing odd', () => {
  const { fromRule } = require('../envelope');
  const context = ruleContext(USERS.database);
  const withId = (id) => ({ ...context, request: { ...context.request, query: { anonymous_id: id } } });
  const visitor = '8c1e7a52-3f0b-4d5e-9a61-2b7c4d8e9f10';
  const envelope = fromRule(USERS.database, withId(visitor));
  assert.ok(validateEnvelope(envelope), JSON.stringify(validateEnvelope.errors));
  assert.deepEqual(envelope.data, { anonymous_id: visitor });
  for (const odd of ['short', '<script>alert(1)</script>', 42]) {
    assert.deepEqual(fromRule(USERS.database, withId(odd)).data, {});
  }
});
