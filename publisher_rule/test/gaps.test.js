'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');

const gaps = require('../gaps');

const NOW = Date.parse('2026-11-30T12:00:00Z');
const SETTINGS = gaps.settingsFrom({});

test('missing facts are read wherever Auth0 and social connections put them', () => {
  assert.deepEqual(gaps.missingFacts({ user_id: 'auth0|1' }), ['birthday', 'gender', 'interests']);
  assert.deepEqual(gaps.missingFacts({ birthday: '08/12/1991', gender: 'female', likes: { data: [{ name: 'x' }] } }), []);
  assert.deepEqual(gaps.missingFacts({ user_metadata: { birthday: '1990-01-01', gender: 'male', interests: [] } }), ['interests']);
  assert.deepEqual(gaps.missingFacts({ gender: ' ', user_metadata: { interests: ['running'] } }), ['birthday', 'gender']);
});

test('answers are kept one by one when they make sense', () => {
  const kept = gaps.validAnswers({ birthday: '1990-05-17', gender: ' Female ', interests: 'Running, yoga, running' }, SETTINGS, NOW);
  assert.deepEqual(kept, { birthday: '1990-05-17', gender: 'female', interests: ['running'] });
  for (const birthday of ['2001-02-30', '2020-01-01', '1890-01-01', '17/05/1990', '']) {
    assert.equal(gaps.validAnswers({ birthday }, SETTINGS, NOW).birthday, undefined, birthday);
  }
  assert.deepEqual(gaps.validAnswers({ gender: 'robot', interests: [] }, SETTINGS, NOW), {});
  assert.deepEqual(gaps.validAnswers(null, SETTINGS, NOW), {});
  const many = Array.from({ length: 20 }, (_, n) => `i${n}`);
  const wide = gaps.settingsFrom({ INTEREST_CHOICES: many.join(',') });
  assert.equal(gaps.validAnswers({ interests: many }, wide, NOW).interests.length, 10);
});

test('settings have defaults and refuse nonsense', () => {
  assert.deepEqual(
    [SETTINGS.afterLogins, SETTINGS.everyDays, SETTINGS.tokenSeconds, SETTINGS.formId],
    [2, 30, 900, null],
  );
  const odd = gaps.settingsFrom({ ASK_AFTER_LOGINS: 'zero', ASK_EVERY_DAYS: '-3', ASK_TOKEN_SECONDS: '5' });
  assert.deepEqual([odd.afterLogins, odd.everyDays, odd.tokenSeconds], [2, 30, 900]);
  assert.equal(gaps.settingsFrom({ ASK_EVERY_DAYS: '0' }).everyDays, 0);
});
