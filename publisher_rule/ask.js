'use strict';
// Auth0 post-login Action "authstream ask": progressive profiling. When a user still lacks a birth
// date, a gender or interests after ASK_AFTER_LOGINS logins, it asks for them, once per
// ASK_EVERY_DAYS, and stores the answers in user_metadata; the next login's event carries them.
//
// Two ways to ask (README, "Ask for what is missing"):
// - FORM_ID: an Auth0 Form (Forms for Actions), rendered with api.prompt.render; its fields
//   birthday, gender, interests come back in event.prompt.fields.
// - FORM_URL + SESSION_TOKEN_SECRET: a form page of your own. The user is sent there with a signed
//   session token (what is missing, which interests to offer); the page sends the user back to
//   /continue with a token it signs with the same secret, carrying the answers. A token that is
//   invalid, expired, tampered with, for another login (state) or for another user is refused.
//
// The login always goes on: skipping the form, a refused token or any error stores nothing and
// never denies access.

const gaps = require('./gaps');

function log(message) {
  console.log(`authstream ask: ${message}`);
}

exports.onExecutePostLogin = async (event, api) => {
  try {
    const settings = gaps.settingsFrom(event.secrets);
    const now = Date.now();
    const decision = gaps.shouldAsk(event, settings, now);
    if (!decision.ask) return;
    if (!settings.formId && !(settings.formUrl && settings.secret)) {
      log('not asking: set FORM_ID, or FORM_URL and SESSION_TOKEN_SECRET (32+ characters)');
      return;
    }
    // Remembered before leaving: Auth0 applies pending metadata when it redirects, so a user who
    // closes the form is not asked again before the interval is over.
    api.user.setAppMetadata(gaps.ASKED_AT, new Date(now).toISOString());
    if (settings.formId) {
      api.prompt.render(settings.formId, {
        vars: { missing: decision.missing.join(','), interest_choices: settings.interests.join(',') },
      });
      return;
    }
    const sessionToken = api.redirect.encodeToken({
      secret: settings.secret,
      expiresInSeconds: settings.tokenSeconds,
      payload: {
        missing: decision.missing,
        interest_choices: settings.interests,
        continue_uri: `https://${event.request.hostname}/continue`,
      },
    });
    api.redirect.sendUserTo(settings.formUrl, { query: { session_token: sessionToken } });
  } catch (error) {
    log(`not asking: ${error && error.message}`);
  }
};

// The answers the form page signed, or null when its token must be refused.
function signedAnswers(event, api, settings) {
  let payload;
  try {
    // Auth0 checks the signature, the expiry and that the token's state is this login's.
    payload = api.redirect.validateToken({ secret: settings.secret, tokenParameterName: 'session_token' });
  } catch (error) {
    log(`answers refused: ${error && error.message}`);
    return null;
  }
  if (!payload || payload.sub !== event.user.user_id) {
    log('answers refused: the token is for another user');
    return null;
  }
  return payload.skipped ? {} : payload.answers || {};
}

exports.onContinuePostLogin = async (event, api) => {
  try {
    const settings = gaps.settingsFrom(event.secrets);
    const answers = settings.formId ? (event.prompt && event.prompt.fields) || {} : signedAnswers(event, api, settings);
    if (!answers) return;
    const kept = gaps.validAnswers(answers, settings, Date.now());
    for (const [fact, value] of Object.entries(kept)) api.user.setUserMetadata(fact, value);
    if (Object.keys(kept).length) log(`stored ${Object.keys(kept).join(', ')}`);
  } catch (error) {
    log(`answers not stored: ${error && error.message}`);
  }
};
