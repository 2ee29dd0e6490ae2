import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReference, normalizeReference, parseReference } from './reference.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseReference', () => {
  it('defaults the tag to latest', () => {
    assert.deepEqual(parseReference('busybox'), { repository: 'busybox', tag: 'latest' });
    assert.equal(normalizeReference('busybox'), 'busybox:latest');
  });

  it('parses tags, digests, paths and registry hosts with ports', () => {
    assert.deepEqual(parseReference('library/alpine:3.19'), { repository: 'library/alpine', tag: '3.19' });
    assert.deepEqual(parseReference(`alpine@${DIGEST}`), { repository: 'alpine', digest: DIGEST });
    assert.deepEqual(parseReference(`alpine:3@${DIGEST}`), {
      repository: 'alpine',
      tag: '3',
      digest: DIGEST,
    });
    assert.deepEqual(parseReference('localhost:5000/team/app:v1.2_rc-1'), {
      repository: 'localhost:5000/team/app',
      tag: 'v1.2_rc-1',
    });
    assert.deepEqual(parseReference('registry.example.com/app'), {
      repository: 'registry.example.com/app',
      tag: 'latest',
    });
    assert.deepEqual(parseReference('my_app__x.y-z'), { repository: 'my_app__x.y-z', tag: 'latest' });
  });

  it('formats back to the normal text form', () => {
    assert.equal(formatReference({ repository: 'a/b', tag: 't' }), 'a/b:t');
    assert.equal(formatReference({ repository: 'a', digest: DIGEST }), `a@${DIGEST}`);
    assert.equal(normalizeReference(`a:t@${DIGEST}`), `a:t@${DIGEST}`);
  });

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Busybox', /lower case/],
    ['busybox:', /tag/],
    ['busybox:-x', /tag/],
    [`busybox:${'t'.repeat(129)}`, /tag/],
    ['busybox@sha256:1234', /digest/],
    ['busybox@md5:abc', /digest/],
    ['a//b', /path component/],
    ['a/-b', /path component/],
    ['/abs', /path component/],
    ['a..b', /path component/],
    [':tag', /repository name is empty/],
    [`${'a'.repeat(256)}`, /longer than 255/],
    ['bad_host.example.com/app', /registry host/],
  ];
  for (const [text, reason] of invalid) {
    it(`rejects ${JSON.stringify(text.length > 40 ? `${text.slice(0, 20)}…` : text)}`, () => {
      assert.throws(
        () => parseReference(text),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.equal((err as { code?: string }).code, 'ERR_INVALID_REFERENCE');
          assert.match(err.message, reason);
          assert.ok(!err.message.includes('\n'), 'one line');
          return true;
        },
      );
    });
  }
});
