import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAttributes, parseAttributes } from './attributes.js';

test('numbers are scalars, the rest text, and the form round-trips', () => {
  const attrs = parseAttributes('rack:r1; zone:a ;gen:3;ratio:0.5');
  assert.deepEqual(
    attrs.map((a) => a.type),
    ['TEXT', 'TEXT', 'SCALAR', 'SCALAR'],
  );
  assert.equal(attrs[2]?.scalar?.value, 3);
  assert.equal(formatAttributes(attrs), 'rack:r1;zone:a;gen:3;ratio:0.5');
});

test('a part without a value is an error', () => {
  assert.throws(() => parseAttributes('rack'), /bad attribute "rack"/);
  assert.throws(() => parseAttributes('rack:'), /bad attribute/);
});
