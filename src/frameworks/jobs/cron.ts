/**
 * The cron engine's pure part: reading a schedule (five-field cron in an IANA time zone, on cron-parser)
 * and deciding which schedule times are due. Time is always passed in.
 *
 * DST: times are computed in the job's time zone by cron-parser. A time that does not exist on a spring-
 * forward day (02:30 in Europe/Berlin on the last Sunday of March) runs once, an hour later by the wall
 * clock; a time that exists twice on a fall-back day runs once.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { InvalidArgumentError } from '../../core/errors.js';
import type { ConcurrencyPolicy, JobSchedule, ScheduleState } from './types.js';

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);

/** Throws one line naming the field when the time zone is not an IANA zone this Node knows. */
export function checkTimeZone(zone: string, path = 'timeZone'): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new InvalidArgumentError(
      `${path}: unknown time zone "${zone}" (use an IANA name, e.g. Europe/Berlin)`,
    );
  }
}

/** Checks a cron expression: five fields or a macro. Throws one line naming the field. */
export function checkCron(expression: string, timeZone = 'UTC', path = 'schedule'): void {
  const text = expression.trim();
  const fields = text.split(/\s+/);
  if (!MACROS.has(text) && fields.length !== 5)
    throw new InvalidArgumentError(
      `${path}: bad cron expression "${expression}": want five fields (minute hour day-of-month month day-of-week), e.g. "*/5 * * * *"`,
    );
  try {
    expressionAt(text, timeZone, 0).next();
  } catch (err) {
    throw new InvalidArgumentError(
      `${path}: bad cron expression "${expression}": ${(err as Error).message.replace(/\.$/, '')}`,
    );
  }
}

function expressionAt(cron: string, timeZone: string, from: number): CronExpression {
  // Five fields: cron-parser reads them as minute … day-of-week (seconds 0).
  return CronExpressionParser.parse(cron, { currentDate: new Date(from), tz: timeZone });
}

/** The first schedule time strictly after `from` (ms since the epoch). */
export function nextTime(schedule: Pick<JobSchedule, 'cron' | 'timeZone'>, from: number): number {
  return expressionAt(schedule.cron, schedule.timeZone, from).next().getTime();
}

/** Schedule times in (from, to], at most `limit` of them (the earliest). */
export function timesBetween(
  schedule: Pick<JobSchedule, 'cron' | 'timeZone'>,
  from: number,
  to: number,
  limit = 1000,
): number[] {
  const out: number[] = [];
  const expr = expressionAt(schedule.cron, schedule.timeZone, from);
  while (out.length < limit) {
    const t = expr.next().getTime();
    if (t > to) break;
    out.push(t);
  }
  return out;
}

export interface DueDecision {
  /** The schedule time to start a run for now, if any (the latest one due, within the deadline). */
  start?: number;
  /** Schedule times that passed and will not run. */
  missed: number;
  /** The new `lastScheduledAt`. */
  lastScheduledAt: number;
  /** When to look again. */
  nextAt: number;
}

/**
 * Which schedule times are due at `now`, given the last one dealt with. Only the latest due time may
 * start (as Kubernetes does); earlier ones, and the latest one when it is older than
 * `startingDeadlineSeconds`, are counted as missed. A suspended schedule counts nothing and starts nothing,
 * and resumes from `now`.
 */
export function dueRuns(schedule: JobSchedule, lastScheduledAt: number, now: number): DueDecision {
  if (schedule.suspend) return { missed: 0, lastScheduledAt: now, nextAt: nextTime(schedule, now) };
  const due = timesBetween(schedule, lastScheduledAt, now, 10_000);
  const nextAt = nextTime(schedule, now);
  const latest = due[due.length - 1];
  if (latest === undefined) return { missed: 0, lastScheduledAt, nextAt };
  const deadline = schedule.startingDeadlineSeconds;
  const inTime = deadline === undefined || now - latest <= deadline * 1000;
  return {
    ...(inTime ? { start: latest } : {}),
    missed: due.length - (inTime ? 1 : 0),
    lastScheduledAt: latest,
    nextAt,
  };
}

export interface ConcurrencyDecision {
  start: boolean;
  /** Active runs to stop first (Replace). */
  replace: string[];
  /** True when the run is skipped because one is active (Forbid). */
  skipped: boolean;
}

/** What a scheduled run does when runs of the same job are still active. */
export function decideConcurrency(
  policy: ConcurrencyPolicy,
  activeRunIds: readonly string[],
): ConcurrencyDecision {
  if (activeRunIds.length === 0 || policy === 'Allow') return { start: true, replace: [], skipped: false };
  if (policy === 'Forbid') return { start: false, replace: [], skipped: true };
  return { start: true, replace: [...activeRunIds], skipped: false };
}

/** A fresh schedule state for a CronJob created (or resumed) at `now`. */
export const initialScheduleState = (now: number): ScheduleState => ({
  lastScheduledAt: now,
  missed: 0,
  skipped: 0,
});
