'use strict';
// Builds authstream.event/1 envelopes (schemas/json/authstream.event.1.json) from what Auth0
// gives an Action (`event`) or a legacy Rule (`user`, `context`). No I/O here: pure and testable.

const crypto = require('node:crypto');

const SCHEMA = 'authstream.event/1';
// Identity-provider tokens never leave Auth0: analytics has no use for them.
const TOKEN_FIELDS = ['access_token', 'access_token_secret', 'refresh_token', 'id_token'];

function withoutTokens(user) {
  const copy = { ...user };
  if (Array.isArray(user.identities)) {
    copy.identities = user.identities.map((identity) => {
      const clean = { ...identity };
      for (const field of TOKEN_FIELDS) delete clean[field];
      return clean;
    });
  }
  return copy;
}

function geoFrom(geoip) {
  if (!geoip) return undefined;
  // Actions say countryCode/cityName/latitude; Rules say country_code/city_name/latitude.
  const geo = {
    country_code: geoip.countryCode || geoip.country_code,
    city: geoip.cityName || geoip.city_name,
    lat: typeof geoip.latitude === 'number' ? geoip.latitude : undefined,
    lon: typeof geoip.longitude === 'number' ? geoip.longitude : undefined,
  };
  return dropEmpty(geo);
}

function dropEmpty(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined && value !== null && value !== '') out[key] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

// The shop's anonymous id for the visitor, when the application passed it to /authorize
// (`anonymous_id`, or `ext-anonymous_id`): authstream then counts what the visitor did before
// logging in for this user. Anything that does not look like an id is left out.
const ANONYMOUS_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function visitorData(query) {
  const q = query || {};
  const id = q.anonymous_id || q['ext-anonymous_id'];
  return typeof id === 'string' && ANONYMOUS_ID.test(id) ? { anonymous_id: id } : {};
}

// A signup gets the same event_id from every trigger that reports it (post-user-registration and
// the first post-login), so authstream counts it once.
function signupEventId(userId) {
  return `signup-${crypto.createHash('sha256').update(userId).digest('hex').slice(0, 32)}`;
}

function envelope({ type, source, tenant, user, context, occurredAt, data }) {
  const profile = withoutTokens(user);
  return dropEmptyTop({
    schema: SCHEMA,
    event_id: type === 'auth.signup' ? signupEventId(profile.user_id) : crypto.randomUUID(),
    type,
    occurred_at: (occurredAt || new Date()).toISOString(),
    source,
    tenant,
    user: profile,
    context: dropEmpty(context || {}) || {},
    data: data || {},
  });
}

function dropEmptyTop(object) {
  if (object.tenant === undefined) delete object.tenant;
  return object;
}

// Post-login Action: `event.stats.logins_count == 1` is a first login, which is also the signup of
// a social user (post-user-registration does not run for social connections).
function fromPostLogin(event) {
  const loginsCount = event.stats && event.stats.logins_count;
  const user = { ...event.user };
  if (typeof loginsCount === 'number') user.logins_count = loginsCount;
  return envelope({
    type: loginsCount === 1 ? 'auth.signup' : 'auth.login',
    source: 'auth0-action',
    tenant: event.tenant && event.tenant.id,
    user,
    context: actionContext(event),
    data: visitorData(event.request && event.request.query),
  });
}

function fromPostUserRegistration(event) {
  return envelope({
    type: 'auth.signup',
    source: 'auth0-action',
    tenant: event.tenant && event.tenant.id,
    user: { ...event.user, logins_count: 0 },
    context: actionContext(event),
  });
}

function actionContext(event) {
  const request = event.request || {};
  const connection = event.connection || {};
  const client = event.client || {};
  return {
    ip: request.ip,
    user_agent: request.user_agent,
    geo: geoFrom(request.geoip),
    connection: connection.name,
    connection_strategy: connection.strategy,
    client_id: client.client_id,
    client_name: client.name,
  };
}

// Legacy Rule: `context.stats.loginsCount` plays the part of `event.stats.logins_count`.
function fromRule(user, context) {
  const loginsCount = context.stats && context.stats.loginsCount;
  const profile = { ...user };
  if (typeof loginsCount === 'number') profile.logins_count = loginsCount;
  const request = context.request || {};
  return envelope({
    type: loginsCount === 1 ? 'auth.signup' : 'auth.login',
    source: 'auth0-rule',
    tenant: context.tenant,
    user: profile,
    context: {
      ip: request.ip,
      user_agent: request.userAgent,
      geo: geoFrom(request.geoip),
      connection: context.connection,
      connection_strategy: context.connectionStrategy,
      client_id: context.clientID,
      client_name: context.clientName,
    },
    data: visitorData(request.query),
  });
}

module.exports = { SCHEMA, fromPostLogin, fromPostUserRegistration, fromRule, signupEventId };
