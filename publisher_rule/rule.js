'use strict';
// Legacy Auth0 Rule (Rules reached end of life on 18 November 2026: use action.js on any tenant
// that can). Built from the same envelope and publisher code as the Action; `npm run build:rule`
// writes the paste-able version to dist/rule.paste.js.

const { fromRule } = require('./envelope');
const { publish } = require('./publisher');

function authstreamRule(user, context, callback, configuration) {
  const settings = configuration || globalThis.configuration || {};
  const done = () => callback(null, user, context); // the login always continues
  let envelope;
  try {
    envelope = fromRule(user, context);
  } catch (error) {
    console.log(`authstream: event not published: ${error && error.message}`);
    return done();
  }
  publish(envelope, {
    url: settings.AMQP_URL,
    exchange: settings.AMQP_EXCHANGE,
    timeoutMs: settings.PUBLISH_TIMEOUT_MS,
  }).then(done, done);
}

module.exports = authstreamRule;
