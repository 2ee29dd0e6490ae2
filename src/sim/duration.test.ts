import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseTaskDuration, sampleTaskDuration } from './duration.js';

test('parses fixed, exponential, uniform and forever durations', () => {
  assert.deepEqual(parseTaskDuration('1s'), { kind: 'fixed', ms: 1000 });
  assert.deepEqual(parseTaskDuration('250ms'), { kind: 'fixed', ms: 250 });
  assert.deepEqual(parseTaskDuration('exp:2s'), { kind: 'exp', meanMs: 2000 });
  assert.deepEqual(parseTaskDuration('uniform:1s-5s'), { kind: 'uniform', minMs: 1000, maxMs: 5000 });
  assert.deepEqual(parseTaskDuration('forever'), { kind: 'forever' });
  assert.equal(sampleTaskDuration({ kind: 'forever' }), undefined);
});

test('bad durations are refused with one line naming the option', () => {
  for (const bad of ['', '1', 'soon', 'exp:', 'uniform:5s-1s', 'uniform:1s', '-1s', '1x'])
    assert.throws(() => parseTaskDuration(bad), /--task-duration/, bad);
});

test('property: samples stay within the distribution', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (a, b, r) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const u = sampleTaskDuration({ kind: 'uniform', minMs: lo, maxMs: hi }, () => r)!;
        const e = sampleTaskDuration({ kind: 'exp', meanMs: hi }, () => r)!;
        return u >= lo && u <= hi && e >= 0 && Number.isFinite(e);
      },
    ),
  );
});
