import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  computeCheckStep,
  computeFirstProbeDelay,
  computeHealthPolicy,
  computeHealthStep,
  computeNextProbeDelay,
  initialHealthState,
  type HealthPolicy,
  type HealthState,
  type ProbeResult,
} from './decide.js';

const policy: HealthPolicy = {
  delayMs: 0,
  intervalMs: 1000,
  timeoutMs: 1000,
  consecutiveFailures: 3,
  gracePeriodMs: 5000,
};
const ok: ProbeResult = { ok: true, detail: 'HTTP GET :80/: status 200', status: { type: 'HTTP' } };
const bad: ProbeResult = {
  ok: false,
  detail: 'HTTP GET :31002/health: connection refused',
  status: { type: 'HTTP', http: {} },
};

function run(results: Array<[ProbeResult, number]>, p = policy, start = initialHealthState(0)) {
  let state: HealthState = start;
  const reports: boolean[] = [];
  let kill: string | undefined;
  for (const [result, now] of results) {
    const step = computeHealthStep(p, state, result, now);
    state = step.state;
    if (step.report) reports.push(step.report.healthy);
    if (step.kill && kill === undefined) kill = step.kill.message;
  }
  return { state, reports, kill };
}

test('the defaults are Mesos’s', () => {
  assert.deepEqual(computeHealthPolicy({ type: 'TCP', tcp: { port: 1 } }), {
    delayMs: 15_000,
    intervalMs: 10_000,
    timeoutMs: 20_000,
    consecutiveFailures: 3,
    gracePeriodMs: 10_000,
  });
});

test('the first success is reported, later ones are not', () => {
  const out = run([
    [ok, 100],
    [ok, 1100],
    [ok, 2100],
  ]);
  assert.deepEqual(out.reports, [true]);
  assert.equal(out.kill, undefined);
});

test('failures during the grace period do not count', () => {
  const out = run([
    [bad, 1000],
    [bad, 2000],
    [bad, 3000],
    [bad, 4000],
  ]);
  assert.deepEqual(out.reports, []);
  assert.equal(out.state.failures, 0);
  assert.equal(out.kill, undefined);
});

test('after the grace period N failures in a row kill, with a message naming the check', () => {
  const out = run([
    [bad, 5000],
    [bad, 6000],
    [bad, 7000],
  ]);
  assert.deepEqual(out.reports, [false]);
  assert.equal(out.kill, 'health check failed 3 times: HTTP GET :31002/health: connection refused');
});

test('once healthy, the grace period no longer applies', () => {
  const out = run([
    [ok, 100],
    [bad, 1000],
    [bad, 2000],
    [bad, 3000],
  ]);
  assert.deepEqual(out.reports, [true, false]);
  assert.match(out.kill ?? '', /failed 3 times/);
});

test('a success resets the count', () => {
  const out = run([
    [bad, 6000],
    [bad, 7000],
    [ok, 8000],
    [bad, 9000],
    [bad, 10_000],
  ]);
  assert.deepEqual(out.reports, [false, true, false]);
  assert.equal(out.kill, undefined);
  assert.equal(out.state.failures, 2);
});

test('consecutive_failures 0 never kills', () => {
  const out = run(
    Array.from({ length: 20 }, (_, i): [ProbeResult, number] => [bad, 6000 + i * 1000]),
    { ...policy, consecutiveFailures: 0 },
  );
  assert.equal(out.kill, undefined);
  assert.deepEqual(out.reports, [false]);
});

test('after a restart the last verdict is kept: no repeated report, no grace once healthy', () => {
  const out = run(
    [
      [ok, 100],
      [bad, 200],
    ],
    { ...policy, consecutiveFailures: 1 },
    initialHealthState(0, true),
  );
  assert.deepEqual(out.reports, [false]);
  assert.match(out.kill ?? '', /failed 1 time:/);
});

test('property: reports alternate and never repeat; a kill needs N counted failures in a row', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2000 })), { maxLength: 60 }),
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 10_000 }),
      (probes, n, grace) => {
        const p = { ...policy, consecutiveFailures: n, gracePeriodMs: grace };
        let state = initialHealthState(0);
        let now = 0;
        let last: boolean | undefined;
        let streak = 0;
        for (const [good, gap] of probes) {
          now += gap;
          const step = computeHealthStep(p, state, good ? ok : bad, now);
          if (step.report) {
            assert.notEqual(step.report.healthy, last);
            last = step.report.healthy;
          }
          const counted = !good && (state.everHealthy || now >= grace);
          streak = good ? 0 : counted ? streak + 1 : streak;
          assert.equal(step.state.failures, streak);
          assert.equal(step.kill !== undefined, n > 0 && streak >= n);
          if (good) assert.equal(step.state.healthy, true);
          state = step.state;
        }
      },
    ),
  );
});

test('a readiness check reports each change of result, and only changes', () => {
  const r = (code?: number): ProbeResult => ({
    ok: code === 200,
    detail: '',
    status: { type: 'HTTP', http: code === undefined ? {} : { status_code: code } },
  });
  let state = {};
  const reports: Array<number | undefined> = [];
  for (const code of [undefined, undefined, 503, 503, 200, 200, 503]) {
    const step = computeCheckStep(state, r(code));
    state = step.state;
    if (step.report) reports.push(step.report.http?.status_code);
  }
  assert.deepEqual(reports, [undefined, 503, 200, 503]);
});

test('probe timing: the delay counts from the start, the interval from the last probe', () => {
  const timing = { delayMs: 15_000, intervalMs: 10_000, timeoutMs: 1 };
  assert.equal(computeFirstProbeDelay(timing, 1000, 1000), 15_000);
  assert.equal(computeFirstProbeDelay(timing, 1000, 60_000), 0);
  assert.equal(computeNextProbeDelay(timing, 0, 3000), 7000);
  assert.equal(computeNextProbeDelay(timing, 0, 30_000), 0);
});
