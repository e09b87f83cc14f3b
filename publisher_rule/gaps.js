'use strict';
// What the "authstream ask" Action needs to decide, with no I/O: which facts a user still lacks,
// whether this login may ask for them, and which answers are worth keeping. Pure and testable.

const FACTS = ['birthday', 'gender', 'interests'];
const GENDERS = ['male', 'female', 'non-binary', 'prefer-not-to-say'];
// The taxonomy terms authstream maps interests onto (consumers/data/interests.json).
const DEFAULT_INTERESTS = [
  'running', 'fitness', 'outdoors', 'cycling', 'fashion', 'technology', 'music', 'travel', 'food', 'gaming',
];
const MAX_INTERESTS = 10;
const MIN_SECRET_CHARS = 32; // HS256 with a short shared secret can be guessed offline
const ASKED_AT = 'authstream_profile_asked_at'; // app_metadata: when the user was last asked
// Token exchanges without a browser: there is nobody to show a form to.
const NOT_INTERACTIVE = [
  'oauth2-refresh-token', 'oauth2-resource-owner', 'oauth2-password', 'oauth2-device-code',
  'oauth2-token-exchange', 'oauth2-resource-owner-jwt-bearer', 'oauth2-client-credentials',
];

function number(value, fallback, minimum) {
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= minimum ? parsed : fallback;
}

// The Action's settings, from its secrets, with defaults for what is not set.
function settingsFrom(secrets) {
  const s = secrets || {};
  const interests = String(s.INTEREST_CHOICES || '')
    .split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  return {
    afterLogins: number(s.ASK_AFTER_LOGINS, 2, 1),
    everyDays: number(s.ASK_EVERY_DAYS, 30, 0),
    tokenSeconds: number(s.ASK_TOKEN_SECONDS, 900, 60),
    formId: s.FORM_ID || null,
    formUrl: s.FORM_URL || null,
    secret: String(s.SESSION_TOKEN_SECRET || '').length >= MIN_SECRET_CHARS ? s.SESSION_TOKEN_SECRET : null,
    interests: interests.length ? interests : DEFAULT_INTERESTS,
  };
}

function present(value) {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && String(value).trim() !== '';
}

// The facts authstream reads that this user's profile does not have (birth date, gender,
// interests), wherever Auth0 or a social connection may have put them.
function missingFacts(user) {
  const metadata = (user && user.user_metadata) || {};
  const likes = user && user.likes && (Array.isArray(user.likes) ? user.likes : user.likes.data);
  const has = {
    birthday: present(metadata.birthday) || present(user.birthday) || present(user.dateOfBirth),
    gender: present(metadata.gender) || present(user.gender),
    interests: present(metadata.interests) || present(likes),
  };
  return FACTS.filter((fact) => !has[fact]);
}

// Whether this login may ask: something is missing, the user has logged in often enough, was
// not asked within the interval, and is in a browser (not a refresh or a silent login).
function shouldAsk(event, settings, now) {
  const missing = missingFacts(event.user || {});
  if (!missing.length) return { ask: false, why: 'nothing missing' };
  const logins = (event.stats && event.stats.logins_count) || 0;
  if (logins < settings.afterLogins) return { ask: false, why: `login ${logins} of ${settings.afterLogins}` };
  const transaction = event.transaction || {};
  const prompt = [].concat(transaction.prompt || [], (event.request && event.request.query && event.request.query.prompt) || []);
  if (NOT_INTERACTIVE.includes(transaction.protocol) || prompt.includes('none')) {
    return { ask: false, why: 'not an interactive login' };
  }
  const asked = Date.parse(((event.user || {}).app_metadata || {})[ASKED_AT]);
  if (Number.isFinite(asked) && now - asked < settings.everyDays * 86400000) {
    return { ask: false, why: 'asked recently' };
  }
  return { ask: true, missing };
}

function validBirthday(text, now) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text || '').trim());
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null; // 2001-02-30
  const age = (now - date.getTime()) / (365.25 * 86400000);
  return age >= 13 && age <= 120 ? match[0] : null;
}

// The answers worth storing in user_metadata; anything malformed is left out, one by one.
function validAnswers(answers, settings, now) {
  const kept = {};
  if (!answers || typeof answers !== 'object') return kept;
  const birthday = validBirthday(answers.birthday, now);
  if (birthday) kept.birthday = birthday;
  const gender = String(answers.gender || '').trim().toLowerCase();
  if (GENDERS.includes(gender)) kept.gender = gender;
  const given = Array.isArray(answers.interests) ? answers.interests : String(answers.interests || '').split(',');
  const interests = [...new Set(given.map((t) => String(t).trim().toLowerCase()))]
    .filter((t) => settings.interests.includes(t))
    .slice(0, MAX_INTERESTS);
  if (interests.length) kept.interests = interests;
  return kept;
}

module.exports = {
  ASKED_AT, DEFAULT_INTERESTS, FACTS, GENDERS, missingFacts, settingsFrom, shouldAsk, validAnswers,
};
