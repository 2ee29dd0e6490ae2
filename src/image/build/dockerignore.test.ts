import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isIgnored, parseDockerignore } from './dockerignore.js';

describe('.dockerignore', () => {
  const p = parseDockerignore(
    '# comment\n*.log\n/build\n**/node_modules\nsecret?.txt\ndocs\n!docs/keep.md\n./tmp/\n',
  );

  it('matches * within one component', () => {
    assert.equal(isIgnored('a.log', p), true);
    assert.equal(isIgnored('sub/a.log', p), false);
  });

  it('matches a directory and everything below it', () => {
    assert.equal(isIgnored('build', p), true);
    assert.equal(isIgnored('build/x/y', p), true);
    assert.equal(isIgnored('tmp/file', p), true);
    assert.equal(isIgnored('src/build', p), false);
  });

  it('matches ** across directories, zero included', () => {
    assert.equal(isIgnored('node_modules/x', p), true);
    assert.equal(isIgnored('a/b/node_modules/c', p), true);
  });

  it('matches ? and negation, the last match deciding', () => {
    assert.equal(isIgnored('secret1.txt', p), true);
    assert.equal(isIgnored('secret12.txt', p), false);
    assert.equal(isIgnored('docs/other.md', p), true);
    assert.equal(isIgnored('docs/keep.md', p), false);
  });

  it('treats a re-include before an exclude as overridden', () => {
    const q = parseDockerignore('!a.txt\n*.txt');
    assert.equal(isIgnored('a.txt', q), true);
  });

  it('property: an empty file ignores nothing, "**" ignores everything', () => {
    const path = fc
      .array(fc.stringMatching(/^[a-z0-9_-][a-z0-9._-]{0,5}$/), { minLength: 1, maxLength: 4 })
      .map((a) => a.join('/'));
    fc.assert(
      fc.property(path, (x) => {
        assert.equal(isIgnored(x, []), false);
        assert.equal(isIgnored(x, parseDockerignore('**')), true);
        assert.equal(isIgnored(x, parseDockerignore(`**\n!${x}`)), false);
      }),
    );
  });
});
