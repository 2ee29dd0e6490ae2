import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { evaluateRange, formatUploadRange, parseContentRange } from './ranges.js';

test('Content-Range of a chunk: spec form and RFC form', () => {
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  assert.deepEqual(parseContentRange('bytes=5-5'), { start: 5, end: 5 });
  for (const bad of ['', '5', '9-3', 'a-b', '-5', '1-2-3'])
    assert.equal(parseContentRange(bad), undefined, bad);
});

test('Range of a GET: single ranges served, others get the whole blob', () => {
  assert.deepEqual(evaluateRange(undefined, 10), { kind: 'full' });
  assert.deepEqual(evaluateRange('bytes=2-4', 10), { kind: 'partial', range: { start: 2, end: 4 } });
  assert.deepEqual(evaluateRange('bytes=5-', 10), { kind: 'partial', range: { start: 5, end: 9 } });
  assert.deepEqual(evaluateRange('bytes=-3', 10), { kind: 'partial', range: { start: 7, end: 9 } });
  assert.deepEqual(evaluateRange('bytes=-30', 10), { kind: 'partial', range: { start: 0, end: 9 } });
  assert.deepEqual(evaluateRange('bytes=8-100', 10), { kind: 'partial', range: { start: 8, end: 9 } });
  assert.deepEqual(evaluateRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(evaluateRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(evaluateRange('bytes=0-1,3-4', 10), { kind: 'full' });
  assert.deepEqual(evaluateRange('items=0-1', 10), { kind: 'full' });
  assert.deepEqual(evaluateRange('bytes=5-2', 10), { kind: 'full' });
});

test('a partial range always lies inside the blob', () => {
  fc.assert(
    fc.property(fc.nat(1000), fc.nat(2000), fc.option(fc.nat(2000)), (size, a, b) => {
      const r = evaluateRange(`bytes=${a}-${b ?? ''}`, size);
      if (r.kind === 'partial') {
        assert.ok(r.range.start >= 0 && r.range.start <= r.range.end && r.range.end < size);
      }
    }),
  );
});

test('upload Range header', () => {
  assert.equal(formatUploadRange(0), '0-0');
  assert.equal(formatUploadRange(1), '0-0');
  assert.equal(formatUploadRange(100), '0-99');
});
