import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffMs, dependenciesMet, newRunId, nextActions, runsToPrune } from './decide.js';
import type { JobRun, JobSpec } from './types.js';

type Spec = Parameters<typeof nextActions>[0];
const spec = (more: Partial<Spec> = {}): Spec => ({
  completions: 1,
  parallelism: 1,
  backoffLimit: 6,
  restartPolicy: 'OnFailure',
  ...more,
});
type Run = Parameters<typeof nextActions>[1];
const run = (more: Partial<Run> = {}): Run => ({
  state: 'ACTIVE',
  createdAt: 0,
  active: 0,
  succeeded: 0,
  failed: 0,
  ...more,
});

test('a new run starts min(parallelism, completions) tasks', () => {
  assert.equal(nextActions(spec({ completions: 5, parallelism: 2 }), run(), 0).launch, 2);
  assert.equal(nextActions(spec({ completions: 2, parallelism: 8 }), run(), 0).launch, 2);
  assert.equal(nextActions(spec({ completions: 5, parallelism: 2 }), run({ active: 2 }), 0).launch, 0);
  assert.equal(
    nextActions(spec({ completions: 5, parallelism: 2 }), run({ active: 1, succeeded: 3 }), 0).launch,
    1,
  );
  assert.equal(
    nextActions(spec({ completions: 5, parallelism: 2 }), run({ active: 1, succeeded: 4 }), 0).launch,
    0,
  );
});

test('enough successes finish the run SUCCEEDED', () => {
  assert.deepEqual(nextActions(spec({ completions: 3 }), run({ succeeded: 3 }), 0), {
    launch: 0,
    killActive: false,
    finish: { state: 'SUCCEEDED' },
  });
});

test('failures are retried after an exponential backoff, up to backoffLimit', () => {
  assert.deepEqual([1, 2, 3, 4, 10].map(backoffMs), [1000, 2000, 4000, 8000, 60_000]);
  const s = spec({ backoffLimit: 2 });
  const failedOnce = run({ failed: 1, lastFailureAt: 10_000 });
  assert.deepEqual(nextActions(s, failedOnce, 10_500), { launch: 0, killActive: false, wakeAt: 11_000 });
  assert.equal(nextActions(s, failedOnce, 11_000).launch, 1);
  assert.equal(nextActions(s, run({ failed: 2, lastFailureAt: 0 }), 2000).launch, 1);
  const exceeded = nextActions(s, run({ failed: 3, lastFailureAt: 0 }), 10_000);
  assert.equal(exceeded.finish?.state, 'FAILED');
  assert.match(exceeded.finish?.reason ?? '', /^BackoffLimitExceeded: 3 tasks failed, backoffLimit is 2$/);
  const never = nextActions(spec({ restartPolicy: 'Never', backoffLimit: 0 }), run({ failed: 1 }), 0);
  assert.match(never.finish?.reason ?? '', /^TaskFailed:/);
});

test('activeDeadlineSeconds kills the run with the reason; before it, a wake-up is asked for', () => {
  const s = spec({ activeDeadlineSeconds: 30 });
  assert.deepEqual(nextActions(s, run({ active: 1 }), 29_999), {
    launch: 0,
    killActive: false,
    wakeAt: 30_000,
  });
  const late = nextActions(s, run({ active: 1 }), 30_000);
  assert.equal(late.killActive, true);
  assert.equal(late.finish?.state, 'FAILED');
  assert.match(late.finish?.reason ?? '', /^DeadlineExceeded: .*activeDeadlineSeconds \(30 s\)$/);
});

test('a stop request kills and fails the run; a finished run does nothing', () => {
  const stopped = nextActions(spec(), run({ active: 1, stopRequested: 'stopped by the user' }), 0);
  assert.deepEqual(stopped, {
    launch: 0,
    killActive: true,
    finish: { state: 'FAILED', reason: 'Stopped: stopped by the user' },
  });
  assert.deepEqual(nextActions(spec(), run({ state: 'FAILED' }), 0), { launch: 0, killActive: false });
});

test('property: simulated runs never exceed parallelism, never start more than needed, and end', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 4 }),
      fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      (completions, parallelism, backoffLimit, outcomes) => {
        const s = spec({ completions, parallelism, backoffLimit });
        const r = run();
        let now = 0;
        let started = 0;
        for (const ok of outcomes) {
          const a = nextActions(s, r, now);
          if (a.finish) {
            r.state = a.finish.state;
            break;
          }
          r.active += a.launch;
          started += a.launch;
          assert.ok(r.active <= parallelism, 'never more than parallelism active');
          assert.ok(r.succeeded + r.active <= completions, 'never more tasks than completions need');
          if (r.active === 0) {
            now = a.wakeAt ?? now + 1;
            continue;
          }
          r.active--;
          if (ok) r.succeeded++;
          else {
            r.failed++;
            r.lastFailureAt = now;
          }
        }
        if (r.state === 'SUCCEEDED') assert.equal(r.succeeded, completions);
        if (r.state === 'FAILED') assert.ok(r.failed > backoffLimit);
        assert.ok(started <= completions + backoffLimit + 1);
      },
    ),
    { numRuns: 200 },
  );
});

test('pruning: TTL after finishing, and a CronJob keeps its history limits', () => {
  const runs = [
    { id: 'a', state: 'SUCCEEDED' as const, createdAt: 1, finishedAt: 10 },
    { id: 'b', state: 'SUCCEEDED' as const, createdAt: 2, finishedAt: 20 },
    { id: 'c', state: 'FAILED' as const, createdAt: 3, finishedAt: 30 },
    { id: 'd', state: 'FAILED' as const, createdAt: 4, finishedAt: 40 },
    { id: 'e', state: 'ACTIVE' as const, createdAt: 5 },
  ];
  assert.deepEqual(runsToPrune({ ttlSecondsAfterFinished: 1 }, runs, 1015), { remove: ['a'], wakeAt: 1020 });
  assert.deepEqual(runsToPrune({}, runs, 1e9), { remove: [] });
  const cron = {
    schedule: { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 } as NonNullable<
      JobSpec['schedule']
    >,
  };
  assert.deepEqual(runsToPrune(cron, runs, 50).remove.sort(), ['a', 'c', 'd']);
});

test('dependencies: all must have succeeded since this job last started, none running', () => {
  const runs: Record<string, Array<Pick<JobRun, 'state' | 'finishedAt'>>> = {
    a: [{ state: 'SUCCEEDED', finishedAt: 100 }],
    b: [{ state: 'FAILED', finishedAt: 110 }],
  };
  const of = (id: string): Array<Pick<JobRun, 'state' | 'finishedAt'>> => runs[id] ?? [];
  assert.equal(dependenciesMet(['a', 'b'], undefined, of), false, 'b failed');
  runs.b!.push({ state: 'SUCCEEDED', finishedAt: 120 });
  assert.equal(dependenciesMet(['a', 'b'], undefined, of), true);
  assert.equal(dependenciesMet(['a', 'b'], 105, of), false, 'a has not succeeded since the last start');
  runs.a!.push({ state: 'ACTIVE' });
  assert.equal(dependenciesMet(['a', 'b'], undefined, of), false, 'a is running again');
  assert.equal(dependenciesMet(['a', 'unknown'], undefined, of), false);
});

test('run ids sort by time and look like Metronome ones', () => {
  assert.match(newRunId(Date.parse('2026-11-26T17:30:05Z')), /^20261126173005[a-z2-9]{5}$/);
});
