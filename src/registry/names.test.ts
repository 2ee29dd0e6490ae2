import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DigestInvalidError, DigestUnsupportedError, NameInvalidError, TagInvalidError } from './errors.js';
import {
  checkDigest,
  checkRepositoryName,
  isValidRepositoryName,
  isValidTag,
  parseManifestReference,
} from './names.js';

const HEX = 'a'.repeat(64);

test('repository names follow the spec grammar', () => {
  for (const ok of ['a', 'library/busybox', 'a.b_c__d-e---f/g0', 'x/y/z', 'a'.repeat(255)])
    assert.equal(isValidRepositoryName(ok), true, ok);
  for (const bad of [
    '',
    'A',
    'a..b',
    '../etc',
    'a/../b',
    '/a',
    'a/',
    'a//b',
    'a___b',
    '-a',
    'a-',
    'a.',
    'a b',
    'a%2fb',
    'a'.repeat(256),
  ])
    assert.equal(isValidRepositoryName(bad), false, bad);
  assert.throws(() => checkRepositoryName('a/../../b'), NameInvalidError);
});

test('tags: up to 128 characters, no leading dot or dash', () => {
  for (const ok of ['latest', 'v1.2.3', '_x', 'A-b_c.d', 'a'.repeat(128)])
    assert.equal(isValidTag(ok), true, ok);
  for (const bad of ['', '.x', '-x', 'a/b', 'a:b', 'a'.repeat(129)])
    assert.equal(isValidTag(bad), false, bad);
});

test('digests: sha256 accepted, sha512 unsupported, malformed invalid', () => {
  assert.equal(checkDigest(`sha256:${HEX}`), `sha256:${HEX}`);
  assert.throws(() => checkDigest(`sha512:${'b'.repeat(128)}`), DigestUnsupportedError);
  assert.throws(() => checkDigest(`md5:${'b'.repeat(32)}`), DigestUnsupportedError);
  for (const bad of [`sha256:${'A'.repeat(64)}`, 'sha256:abc', 'sha256:', ':abc', 'nocolon', `sha512:${HEX}`])
    assert.throws(() => checkDigest(bad), DigestInvalidError, bad);
});

test('a manifest reference is a digest when it has a colon, else a tag', () => {
  assert.deepEqual(parseManifestReference('v1'), { kind: 'tag', tag: 'v1' });
  assert.deepEqual(parseManifestReference(`sha256:${HEX}`), { kind: 'digest', digest: `sha256:${HEX}` });
  assert.throws(() => parseManifestReference('.bad'), TagInvalidError);
  assert.throws(() => parseManifestReference('sha256:zz'), DigestInvalidError);
});
