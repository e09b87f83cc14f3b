'use strict';
// One user's logins through both Actions, in the simulated Auth0 runtime, publishing to the
// RabbitMQ exchange a Python integration test gives (tests/integration/segments/test_ask.py):
//   node test/e2e/ask-flow.js first  USER_JSON   login 2: published; asked; the form answered
//   node test/e2e/ask-flow.js next   USER_JSON   login 3: published with what was answered
// Env: AMQP_URL, AMQP_EXCHANGE, ANSWERS (JSON). Prints one JSON object: what happened.

const ask = require('../../ask');
const action = require('../../action');
const publisher = require('../../publisher');
const { askApi, continueEvent, formPage, postLoginEvent, withMetadata } = require('../helpers');

const SECRET = 'e2e-form-page-secret-0123456789abcdef';
const SECRETS = {
  AMQP_URL: process.env.AMQP_URL,
  AMQP_EXCHANGE: process.env.AMQP_EXCHANGE,
  FORM_URL: 'https://shop.innovashoes.example/complete-profile',
  SESSION_TOKEN_SECRET: SECRET,
};

async function login(user, loginsCount) {
  const event = postLoginEvent(user, { loginsCount, secrets: SECRETS });
  const api = askApi(event);
  await action.onExecutePostLogin(event, api); // the publisher runs first in the flow
  await ask.onExecutePostLogin(event, api);
  return { event, api };
}

async function main() {
  const [phase, userJson] = process.argv.slice(2);
  const user = JSON.parse(userJson);
  const report = {};
  if (phase === 'first') {
    const { event, api } = await login(user, 2);
    const sent = api.calls.find(([name]) => name === 'redirect.sendUserTo');
    report.asked = Boolean(sent);
    if (sent) {
      const page = formPage(sent[1], SECRET, JSON.parse(process.env.ANSWERS));
      report.missing = page.asked.missing;
      const resumed = continueEvent(event, page);
      await ask.onContinuePostLogin(resumed, api.resume(resumed));
    }
    report.user = withMetadata(user, api);
  } else {
    const { api } = await login(user, 3);
    report.asked = api.calls.some(([name]) => name === 'redirect.sendUserTo');
  }
  await publisher.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
