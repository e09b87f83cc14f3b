'use strict';
// Auth0 Actions: add this code to a post-login Action (and, optionally, a post-user-registration
// Action) with the npm dependency `amqplib` and the secrets AMQP_URL (amqps://... in production),
// AMQP_EXCHANGE (default authstream.events) and PUBLISH_TIMEOUT_MS (default 1500).
// A login always continues: on any failure the event is logged (without the password) and dropped.

const { fromPostLogin, fromPostUserRegistration } = require('./envelope');
const { publish } = require('./publisher');

function options(event) {
  const secrets = event.secrets || {};
  return {
    url: secrets.AMQP_URL,
    exchange: secrets.AMQP_EXCHANGE,
    timeoutMs: secrets.PUBLISH_TIMEOUT_MS,
  };
}

async function safely(build, event) {
  try {
    await publish(build(event), options(event));
  } catch (error) {
    // publish() does not throw; this guards the envelope code against a malformed event.
    console.log(`authstream: event not published: ${error && error.message}`);
  }
}

exports.onExecutePostLogin = async (event, api) => safely(fromPostLogin, event);

exports.onExecutePostUserRegistration = async (event, api) =>
  safely(fromPostUserRegistration, event);
