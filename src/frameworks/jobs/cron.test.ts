import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkCron, checkTimeZone, decideConcurrency, dueRuns, nextTime, timesBetween } from './cron.js';
import type { JobSchedule } from './types.js';

const schedule = (cron: string, more: Partial<JobSchedule> = {}): JobSchedule => ({
  cron,
  timeZone: 'UTC',
  concurrencyPolicy: 'Allow',
  suspend: false,
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 1,
  ...more,
});
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

test('a daily schedule fires at the wall-clock time of its time zone', () => {
  const s = schedule('0 9 * * *', { timeZone: 'America/New_York' });
  // 09:00 in New York in January is 14:00 UTC (EST, UTC-5).
  assert.equal(iso(nextTime(s, at('2026-01-10T00:00:00Z'))), '2026-01-10T14:00:00.000Z');
  // And in July 13:00 UTC (EDT, UTC-4).
  assert.equal(iso(nextTime(s, at('2026-07-10T00:00:00Z'))), '2026-07-10T13:00:00.000Z');
});

test('across the spring-forward DST change in Europe/Berlin (last Sunday of March 2026)', () => {
  // 01:30 local every day: CET (UTC+1) before 29 March, CEST (UTC+2) after.
  const s = schedule('30 1 * * *', { timeZone: 'Europe/Berlin' });
  const times = timesBetween(s, at('2026-03-27T00:00:00Z'), at('2026-03-31T00:00:00Z')).map(iso);
  assert.deepEqual(times, [
    '2026-03-27T00:30:00.000Z',
    '2026-03-28T00:30:00.000Z',
    '2026-03-29T00:30:00.000Z',
    '2026-03-29T23:30:00.000Z',
    '2026-03-30T23:30:00.000Z',
  ]);
  // Hourly across the change: 02:00 local does not exist on 29 March, so the hours are one apart in UTC
  // and none is doubled.
  const hourly = timesBetween(
    schedule('0 * * * *', { timeZone: 'Europe/Berlin' }),
    at('2026-03-29T00:30:00Z'),
    at('2026-03-29T03:30:00Z'),
  );
  assert.deepEqual(hourly.map(iso), [
    '2026-03-29T01:00:00.000Z',
    '2026-03-29T02:00:00.000Z',
    '2026-03-29T03:00:00.000Z',
  ]);
  // A time inside the skipped hour (02:30) still runs once that day, not twice and not never.
  const skipped = timesBetween(
    schedule('30 2 * * *', { timeZone: 'Europe/Berlin' }),
    at('2026-03-28T12:00:00Z'),
    at('2026-03-30T12:00:00Z'),
  );
  assert.equal(skipped.filter((t) => iso(t).startsWith('2026-03-29')).length, 1);
  assert.equal(skipped.length, 2);
});

test('across the fall-back DST change a time in the repeated hour runs once', () => {
  const s = schedule('30 2 * * *', { timeZone: 'Europe/Berlin' });
  const times = timesBetween(s, at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z'));
  assert.equal(times.length, 2, times.map(iso).join(', '));
  assert.equal(iso(times[0]!), '2026-10-25T00:30:00.000Z');
});

test('bad expressions and unknown time zones are one line naming the field', () => {
  assert.throws(() => checkCron('* * *'), /^InvalidArgumentError: schedule: bad cron expression "\* \* \*"/);
  assert.throws(() => checkCron('61 * * * *'), /schedule: bad cron expression "61 \* \* \* \*".*0-59/);
  assert.throws(() => checkCron('* * * * * *'), /want five fields/);
  assert.doesNotThrow(() => checkCron('@hourly'));
  assert.doesNotThrow(() => checkCron('*/5 1-3 * jan,feb mon-fri'));
  assert.throws(() => checkTimeZone('Mars/Olympus'), /timeZone: unknown time zone "Mars\/Olympus"/);
  assert.doesNotThrow(() => checkTimeZone('Asia/Kolkata'));
});

test('dueRuns: nothing due before the first time; the time itself is due', () => {
  const s = schedule('*/10 * * * *');
  const last = at('2026-01-01T00:00:00Z');
  assert.deepEqual(dueRuns(s, last, at('2026-01-01T00:09:59Z')), {
    missed: 0,
    lastScheduledAt: last,
    nextAt: at('2026-01-01T00:10:00Z'),
  });
  const d = dueRuns(s, last, at('2026-01-01T00:10:00Z'));
  assert.equal(d.start, at('2026-01-01T00:10:00Z'));
  assert.equal(d.missed, 0);
  assert.equal(d.nextAt, at('2026-01-01T00:20:00Z'));
});

test('dueRuns after a restart: the latest missed time starts within the starting deadline, older ones are missed', () => {
  const s = schedule('0 * * * *', { startingDeadlineSeconds: 600 });
  const last = at('2026-01-01T00:00:00Z');
  // Down from 00:00 to 03:05: 01:00, 02:00, 03:00 passed; 03:00 is 5 minutes late, within 10.
  const d = dueRuns(s, last, at('2026-01-01T03:05:00Z'));
  assert.equal(d.start, at('2026-01-01T03:00:00Z'));
  assert.equal(d.missed, 2);
  // Down until 03:20: 03:00 is 20 minutes late, past the deadline: all three are missed.
  const late = dueRuns(s, last, at('2026-01-01T03:20:00Z'));
  assert.equal(late.start, undefined);
  assert.equal(late.missed, 3);
  assert.equal(late.lastScheduledAt, at('2026-01-01T03:00:00Z'));
  // Without a deadline the latest one always starts.
  assert.equal(
    dueRuns(schedule('0 * * * *'), last, at('2026-01-01T03:59:00Z')).start,
    at('2026-01-01T03:00:00Z'),
  );
});

test('dueRuns: a suspended schedule starts nothing and resumes from now', () => {
  const d = dueRuns(schedule('* * * * *', { suspend: true }), 0, at('2026-01-01T03:20:00Z'));
  assert.equal(d.start, undefined);
  assert.equal(d.missed, 0);
  assert.equal(d.lastScheduledAt, at('2026-01-01T03:20:00Z'));
});

test('dueRuns property: a time is started or missed exactly once however the clock is sampled', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }), (steps) => {
      const s = schedule('*/7 * * * *', { startingDeadlineSeconds: 120 });
      const start = at('2026-03-01T00:00:00Z');
      let last = start;
      let now = start;
      let started = 0;
      let missed = 0;
      for (const step of steps) {
        now += step * 15_000;
        const d = dueRuns(s, last, now);
        if (d.start !== undefined) {
          started++;
          assert.ok(now - d.start <= 120_000);
        }
        missed += d.missed;
        assert.ok(d.lastScheduledAt >= last && d.lastScheduledAt <= now);
        assert.ok(d.nextAt > now);
        last = d.lastScheduledAt;
      }
      assert.equal(started + missed, timesBetween(s, start, now, 1e6).length);
    }),
    { numRuns: 40 },
  );
});

test('concurrency: Allow starts, Forbid skips while one is active, Replace stops the active ones', () => {
  assert.deepEqual(decideConcurrency('Forbid', []), { start: true, replace: [], skipped: false });
  assert.deepEqual(decideConcurrency('Allow', ['r1']), { start: true, replace: [], skipped: false });
  assert.deepEqual(decideConcurrency('Forbid', ['r1']), { start: false, replace: [], skipped: true });
  assert.deepEqual(decideConcurrency('Replace', ['r1', 'r2']), {
    start: true,
    replace: ['r1', 'r2'],
    skipped: false,
  });
});
