import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expandPairs, expandWord, expandWords } from './substitute.js';

const vars = new Map([
  ['A', 'one'],
  ['B', 'two words'],
  ['EMPTY', ''],
]);

describe('substitution', () => {
  it('expands $VAR, ${VAR} and the default forms', () => {
    assert.equal(expandWord('$A-${A}x', vars), 'one-onex');
    assert.equal(expandWord('${NOPE:-dflt}/${EMPTY:-e}/${EMPTY-e}', vars), 'dflt/e/');
    assert.equal(expandWord('${A:+set}${NOPE:+no}', vars), 'set');
    assert.equal(expandWord('${NOPE:-${A}}', vars), 'one');
    assert.equal(expandWord('$NOPE.', vars), '.');
  });

  it('does not expand in single quotes or after a backslash', () => {
    assert.deepEqual(expandWords(`'$A' "$A" \\$A`, vars), ['$A', 'one', '$A']);
  });

  it('splits words on unquoted spaces only', () => {
    assert.deepEqual(expandWords('a "b c" $B', vars), ['a', 'b c', 'two words']);
  });

  it('reads KEY=VALUE pairs and the legacy ENV form', () => {
    assert.deepEqual(expandPairs('X=1 Y="a b" Z=$A', vars, 1, true), [
      ['X', '1'],
      ['Y', 'a b'],
      ['Z', 'one'],
    ]);
    assert.deepEqual(expandPairs('PATHX /a b $A', vars, 1, true), [['PATHX', '/a b one']]);
    assert.throws(() => expandPairs('novalue', vars, 3, false), /line 3/);
  });

  it('refuses unbalanced quotes and braces', () => {
    assert.throws(() => expandWord('"abc', vars), { code: 'ERR_BAD_DOCKERFILE' });
    assert.throws(() => expandWord('${A', vars), { code: 'ERR_BAD_DOCKERFILE' });
  });

  it('property: text without $, quotes or backslashes is unchanged', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9_./:=-]*$/), (text) => {
        assert.equal(expandWord(text, vars), text);
      }),
    );
  });

  it('property: a variable reference expands to its value whatever it holds', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const v = new Map([['V', value]]);
        assert.equal(expandWord('${V}', v), value);
        assert.equal(expandWord('"$V"', v), value);
      }),
    );
  });
});
