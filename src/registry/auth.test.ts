import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apr1Hash, BasicAuth, parseHtpasswd, verifyHtpasswdPassword } from './auth.js';
import { HtpasswdError } from './errors.js';

// From `openssl passwd -apr1 -salt saltsalt 'secret pw'` and `htpasswd -s`.
const APR1 = '$apr1$saltsalt$X8iAgaDJSyuAMkpLmM5/H/';
const SHA = '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=';
// From `htpasswd -nbB -C 5 carol 'secret pw'` (Apache's bcrypt, what Docker's registry requires).
const BCRYPT = '$2y$05$30kiWdQTtrJ1Y4H8xoAS9usYy5VEr8LrrNpcZM.oHoV9j2vsOj2Iy';

test('apr1 matches Apache and OpenSSL', () => {
  assert.equal(apr1Hash('secret pw', 'saltsalt'), APR1);
  assert.equal(verifyHtpasswdPassword(APR1, 'secret pw'), true);
  assert.equal(verifyHtpasswdPassword(APR1, 'secret px'), false);
});

test('{SHA} and {PLAIN}', () => {
  assert.equal(verifyHtpasswdPassword(SHA, 'secret'), true);
  assert.equal(verifyHtpasswdPassword(SHA, 'Secret'), false);
  assert.equal(verifyHtpasswdPassword('{PLAIN}pw', 'pw'), true);
  assert.equal(verifyHtpasswdPassword('{PLAIN}pw', 'pw2'), false);
});

test('bcrypt matches htpasswd -B', () => {
  assert.equal(verifyHtpasswdPassword(BCRYPT, 'secret pw'), true);
  assert.equal(verifyHtpasswdPassword(BCRYPT, 'secret px'), false);
});

test('htpasswd parsing refuses what it cannot verify, naming the line', () => {
  const entries = parseHtpasswd(`# users\nalice:${SHA}\n\nbob:${APR1}\ncarol:${BCRYPT}\n`);
  assert.deepEqual([...entries.keys()], ['alice', 'bob', 'carol']);
  assert.throws(
    () => parseHtpasswd('carol:$2y$05$tooshort'),
    (err: unknown) =>
      err instanceof HtpasswdError && /line 1 \(user "carol"\): unsupported hash/.test(err.message),
  );
  assert.throws(() => parseHtpasswd('dave:abDES.hash12'), HtpasswdError);
  assert.throws(() => parseHtpasswd('no-colon'), HtpasswdError);
});

test('Basic auth: right user and password only; accepted headers are remembered', () => {
  let now = 0;
  const auth = new BasicAuth(parseHtpasswd(`alice:${SHA}`), () => now, 1000);
  const header = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  assert.equal(auth.check(header('alice', 'secret')), 'alice');
  assert.equal(auth.check(header('alice', 'secret')), 'alice');
  now = 5000;
  assert.equal(auth.check(header('alice', 'secret')), 'alice');
  assert.equal(auth.check(header('alice', 'wrong')), undefined);
  assert.equal(auth.check(header('bob', 'secret')), undefined);
  assert.equal(auth.check('Bearer x'), undefined);
  assert.equal(auth.check(undefined), undefined);
  assert.equal(auth.check('Basic !!!'), undefined);
});
