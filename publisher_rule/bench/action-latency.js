'use strict';
// Action publish latency with a warm connection to the broker (AUTHSTREAM_AMQP_URL, default
// local), against the baseline of a fresh connection per login. Prints a table, then one JSON line.
//   node bench/action-latency.js [logins=10000] [cold=200]

const crypto = require('node:crypto');
const amqp = require('amqplib');
const action = require('../action');
const publisher = require('../publisher');
const { AMQP_URL, USERS, actionApi, postLoginEvent } = require('../test/helpers');

const LOGINS = Number(process.argv[2] || 10000);
const COLD = Number(process.argv[3] || 200);

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * sorted.length) - 1))];
}

async function timeLogins(count, secrets, beforeEach) {
  const samples = [];
  const users = Object.values(USERS);
  for (let i = 0; i < count; i += 1) {
    if (beforeEach) await beforeEach();
    const event = postLoginEvent(users[i % users.length], { secrets });
    const started = process.hrtime.bigint();
    await action.onExecutePostLogin(event, actionApi());
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

async function main() {
  const exchange = `bench${crypto.randomBytes(4).toString('hex')}-authstream.events`;
  const admin = await amqp.connect(AMQP_URL);
  const channel = await admin.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, durable: false });
  await channel.bindQueue(queue, exchange, '#');
  const secrets = { AMQP_URL, AMQP_EXCHANGE: exchange };
  try {
    await timeLogins(100, secrets); // warm-up: connection opened, JIT warmed
    const started = Date.now();
    const warm = await timeLogins(LOGINS, secrets);
    const warmSeconds = (Date.now() - started) / 1000;
    const cold = await timeLogins(COLD, secrets, () => publisher.close());
    const result = {
      logins: LOGINS,
      p50_ms: +percentile(warm, 50).toFixed(2),
      p95_ms: +percentile(warm, 95).toFixed(2),
      p99_ms: +percentile(warm, 99).toFixed(2),
      max_ms: +warm[warm.length - 1].toFixed(2),
      logins_per_s: +(LOGINS / warmSeconds).toFixed(0),
      cold_logins: COLD,
      cold_p50_ms: +percentile(cold, 50).toFixed(2),
      cold_p99_ms: +percentile(cold, 99).toFixed(2),
      rss_mb: +(process.memoryUsage().rss / 1048576).toFixed(1),
      target_p99_ms: 10,
    };
    console.log(`Action publish latency, warm connection, ${LOGINS.toLocaleString()} logins, confirms on`);
    console.log(`  p50 ${result.p50_ms} ms   p95 ${result.p95_ms} ms   p99 ${result.p99_ms} ms   max ${result.max_ms} ms   (${result.logins_per_s} logins/s, RSS ${result.rss_mb} MB)`);
    console.log(`  baseline, new connection per login (${COLD}): p50 ${result.cold_p50_ms} ms   p99 ${result.cold_p99_ms} ms`);
    console.log(`  target p99 ≤ 10 ms: ${result.p99_ms <= 10 ? 'ok' : 'MISSED'}`);
    console.log(JSON.stringify(result));
  } finally {
    await publisher.close();
    await channel.deleteExchange(exchange).catch(() => {});
    await admin.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
