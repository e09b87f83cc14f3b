'use strict';
// Publishes envelopes to RabbitMQ with publisher confirms, inside a hard time budget.
//
// Auth0 keeps a warm Action's module scope between logins, so the connection and the confirm
// channel live here and are reused; a broken one is dropped and reopened on the next login.
// Nothing here throws: analytics must never block or fail a login.

const amqp = require('amqplib');

const DEFAULT_EXCHANGE = 'authstream.events';
const DEFAULT_TIMEOUT_MS = 1500;

let current = null; // { url, connection, channel, exchange } once open

function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable AMQP URL)';
  }
}

// Error text may echo parts of the URL: never let the password through.
function safeMessage(error, url) {
  let text = error && error.message ? error.message : String(error);
  try {
    const { password } = new URL(url);
    if (password) text = text.split(decodeURIComponent(password)).join('***').split(password).join('***');
  } catch {
    /* the URL could not be parsed: nothing to mask */
  }
  return text;
}

function forget(state) {
  if (current === state) current = null;
  if (state && state.connection) state.connection.close().catch(() => {});
}

async function open(url, exchange, timeoutMs) {
  if (current && current.url === url && current.exchange === exchange) return current;
  if (current) forget(current);
  const connection = await amqp.connect(url, {
    timeout: timeoutMs,
    clientProperties: { connection_name: 'authstream auth0 publisher' },
  });
  const state = { url, exchange, connection, channel: null };
  connection.on('error', () => forget(state));
  connection.on('close', () => forget(state));
  try {
    state.channel = await connection.createConfirmChannel();
    state.channel.on('error', () => forget(state));
    state.channel.on('close', () => forget(state));
    // checkExchange, not assertExchange: the publish-only user may not declare anything.
    await state.channel.checkExchange(exchange);
  } catch (error) {
    forget(state);
    throw error;
  }
  current = state;
  return state;
}

function send(state, envelope) {
  return new Promise((resolve, reject) => {
    state.channel.publish(
      state.exchange,
      envelope.type,
      Buffer.from(JSON.stringify(envelope)),
      {
        persistent: true,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        messageId: envelope.event_id,
        type: envelope.type,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { 'authstream-schema': envelope.schema, 'authstream-source': envelope.source },
      },
      (error) => (error ? reject(new Error('the broker refused the event (nack)')) : resolve()),
    );
  });
}

/**
 * Publish one envelope. Resolves to { ok: true } or { ok: false, error } within `timeoutMs`.
 * @param {{url: string, exchange?: string, timeoutMs?: number, log?: (message: string) => void}} options
 */
async function publish(envelope, options) {
  const url = options.url;
  const exchange = options.exchange || DEFAULT_EXCHANGE;
  const timeoutMs = Number(options.timeoutMs) > 0 ? Number(options.timeoutMs) : DEFAULT_TIMEOUT_MS;
  const log = options.log || ((message) => console.log(message));
  if (!url) {
    log('authstream: AMQP_URL secret is not set; event not published');
    return { ok: false, error: 'AMQP_URL is not set' };
  }
  let timer;
  const budget = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const attempt = (async () => {
    const state = await open(url, exchange, timeoutMs);
    try {
      await send(state, envelope);
    } catch (error) {
      forget(state);
      throw error;
    }
    return 'ok';
  })();
  try {
    const outcome = await Promise.race([attempt, budget]);
    if (outcome === 'ok') return { ok: true };
    attempt.catch(() => {}); // it may still fail later: nobody is waiting any more
    forget(current);
    const error = `no confirm within ${timeoutMs} ms from ${redact(url)}`;
    log(`authstream: event ${envelope.event_id} not published: ${error}`);
    return { ok: false, error };
  } catch (error) {
    const message = safeMessage(error, url);
    log(`authstream: event ${envelope.event_id} not published to ${redact(url)}: ${message}`);
    return { ok: false, error: message };
  } finally {
    clearTimeout(timer);
  }
}

async function close() {
  const state = current;
  current = null;
  if (state) await state.connection.close().catch(() => {});
}

module.exports = { publish, close, redact, DEFAULT_EXCHANGE, DEFAULT_TIMEOUT_MS };
