'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const action = require('../action');
const publisher = require('../publisher');
const {
  AMQP_URL, USERS, actionApi, management, postLoginEvent, privateExchange, validateEnvelope,
} = require('./helpers');

after(() => publisher.close());

function secretsFor(exchange, extra = {}) {
  return { AMQP_URL, AMQP_EXCHANGE: exchange.name, ...extra };
}

function capturedLogs() {
  const lines = [];
  const original = console.log;
  console.log = (...args) => lines.push(args.join(' '));
  return { lines, restore: () => { console.log = original; } };
}

for (const [kind, user] of Object.entries(USERS)) {
  test(`a ${kind} login arrives as a valid envelope with the right routing key and properties`, async () => {
    const exchange = await privateExchange();
    try {
      const api = actionApi();
      await action.onExecutePostLogin(postLoginEvent(user, { secrets: secretsFor(exchange) }), api);
      const message = await exchange.next();
      const envelope = JSON.parse(message.content.toString('utf8'));
      assert.ok(validateEnvelope(envelope), JSON.stringify(validateEnvelope.errors));
      assert.equal(envelope.type, 'auth.login');
      assert.equal(message.fields.routingKey, 'auth.login');
      assert.equal(message.properties.deliveryMode, 2);
      assert.equal(message.properties.messageId, envelope.event_id);
      assert.equal(message.properties.contentType, 'application/json');
      assert.equal(envelope.source, 'auth0-action');
      assert.equal(envelope.tenant, 'innovashoes');
      assert.equal(envelope.user.user_id, user.user_id);
      assert.equal(envelope.user.logins_count, 5);
      assert.equal(envelope.user.name, user.name); // unicode intact
      assert.deepEqual(envelope.context.geo, { country_code: 'US', city: 'Portland', lat: 45.52, lon: -122.68 });
      assert.equal(envelope.context.client_name, 'InnovaShoes Web');
      assert.ok(!message.content.toString().includes('secret'), 'IdP tokens must not leave Auth0');
      assert.deepEqual(api.calls, []); // never denies or changes the login
    } finally {
      await exchange.close();
    }
  });
}

test('a first social login is the signup, with the same event id the registration trigger uses', async () => {
  const exchange = await privateExchange();
  try {
    const secrets = secretsFor(exchange);
    await action.onExecutePostLogin(postLoginEvent(USERS.facebook, { loginsCount: 1, secrets }), actionApi());
    await action.onExecutePostUserRegistration(postLoginEvent(USERS.facebook, { secrets }), actionApi());
    const first = JSON.parse((await exchange.next()).content);
    const second = JSON.parse((await exchange.next()).content);
    assert.equal(first.type, 'auth.signup');
    assert.equal(second.type, 'auth.signup');
    assert.ok(validateEnvelope(second), JSON.stringify(validateEnvelope.errors));
    assert.equal(first.event_id, second.event_id); // authstream counts the signup once
  } finally {
    await exchange.close();
  }
});

async function timedLogin(secrets) {
  const logs = capturedLogs();
  const started = Date.now();
  try {
    await action.onExecutePostLogin(postLoginEvent(USERS.database, { secrets }), actionApi());
  } finally {
    logs.restore();
  }
  return { ms: Date.now() - started, logs: logs.lines.join('\n') };
}

test('broker down: the login continues within the budget and the log has no password', async () => {
  const closed = await new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const { ms, logs } = await timedLogin({
    AMQP_URL: `amqp://auth0-publisher:S3cr3t-pw@127.0.0.1:${closed}/`,
    PUBLISH_TIMEOUT_MS: '500',
  });
  assert.ok(ms < 1000, `took ${ms} ms`);
  assert.match(logs, /not published/);
  assert.ok(!logs.includes('S3cr3t-pw'), logs);
});

test('wrong password: the login continues and the log names the broker without the password', async () => {
  const url = new URL(AMQP_URL);
  url.password = 'Wr0ng-pass';
  const { ms, logs } = await timedLogin({ AMQP_URL: url.toString(), PUBLISH_TIMEOUT_MS: '1500' });
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.match(logs, /not published to amqp:\/\/guest:\*\*\*@/);
  assert.ok(!logs.includes('Wr0ng-pass'), logs);
});

test('a broker that accepts but never answers cannot hold the login past the budget', async () => {
  const sockets = [];
  const blackhole = net.createServer((socket) => sockets.push(socket));
  await new Promise((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  try {
    const { ms, logs } = await timedLogin({
      AMQP_URL: `amqp://guest:Hidden-pw@127.0.0.1:${blackhole.address().port}/`,
      PUBLISH_TIMEOUT_MS: '300',
    });
    assert.ok(ms >= 250 && ms < 800, `took ${ms} ms`);
    assert.match(logs, /no confirm within 300 ms/);
    assert.ok(!logs.includes('Hidden-pw'), logs);
  } finally {
    sockets.forEach((socket) => socket.destroy());
    blackhole.close();
  }
});

test('warm invocations reuse one connection', async () => {
  const exchange = await privateExchange();
  try {
    await publisher.close();
    const secrets = secretsFor(exchange);
    for (let i = 0; i < 25; i += 1) {
      await action.onExecutePostLogin(postLoginEvent(USERS.google, { secrets }), actionApi());
    }
    for (let i = 0; i < 25; i += 1) await exchange.next();
    const deadline = Date.now() + 15000;
    let ours = [];
    while (Date.now() < deadline) {
      const connections = (await management('/api/connections')) || [];
      ours = connections.filter((c) => (c.client_properties || {}).connection_name === 'authstream auth0 publisher');
      if (ours.length) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(ours.length, 1);
  } finally {
    await exchange.close();
  }
});
