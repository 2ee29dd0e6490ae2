/**
 * The pure decisions of a run: how many tasks to start, whether to kill what runs and end the run (and
 * why), when to look again; which finished runs to forget; when a dependent job may start.
 */
import type { JobRun, JobSpec, RunState } from './types.js';

export interface RunActions {
  /** New tasks to create (each waits for an offer). */
  launch: number;
  /** Kill every task of the run that is still active. */
  killActive: boolean;
  /** End the run. */
  finish?: { state: Exclude<RunState, 'ACTIVE'>; reason?: string };
  /** When the decision may change by time alone (backoff over, deadline reached). */
  wakeAt?: number;
}

/** Backoff before the next task after `failures` failed ones: 1 s, 2 s, 4 s … at most 60 s. */
export function backoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(1000 * 2 ** (failures - 1), 60_000);
}

type RunView = Pick<
  JobRun,
  'state' | 'createdAt' | 'active' | 'succeeded' | 'failed' | 'lastFailureAt' | 'stopRequested'
>;

/**
 * What a run does next. `spec` is the run's own spec. Never more than `parallelism` tasks are active;
 * never more tasks are started than `completions` still needs.
 */
export function nextActions(
  spec: Pick<
    JobSpec,
    'completions' | 'parallelism' | 'backoffLimit' | 'activeDeadlineSeconds' | 'restartPolicy'
  >,
  run: RunView,
  now: number,
): RunActions {
  const none: RunActions = { launch: 0, killActive: false };
  if (run.state !== 'ACTIVE') return none;
  if (run.stopRequested !== undefined)
    return {
      launch: 0,
      killActive: true,
      finish: { state: 'FAILED', reason: `Stopped: ${run.stopRequested}` },
    };
  if (run.succeeded >= spec.completions)
    return { launch: 0, killActive: run.active > 0, finish: { state: 'SUCCEEDED' } };
  const retries = spec.restartPolicy === 'Never' ? 0 : spec.backoffLimit;
  if (run.failed > retries)
    return {
      launch: 0,
      killActive: true,
      finish: {
        state: 'FAILED',
        reason:
          spec.restartPolicy === 'Never'
            ? `TaskFailed: a task failed and restartPolicy is Never`
            : `BackoffLimitExceeded: ${run.failed} tasks failed, backoffLimit is ${spec.backoffLimit}`,
      },
    };
  const deadline =
    spec.activeDeadlineSeconds !== undefined ? run.createdAt + spec.activeDeadlineSeconds * 1000 : undefined;
  if (deadline !== undefined && now >= deadline)
    return {
      launch: 0,
      killActive: true,
      finish: {
        state: 'FAILED',
        reason: `DeadlineExceeded: the run was active longer than activeDeadlineSeconds (${spec.activeDeadlineSeconds} s)`,
      },
    };
  const wanted = Math.min(spec.parallelism - run.active, spec.completions - run.succeeded - run.active);
  const retryAt =
    run.failed > 0 && run.lastFailureAt !== undefined ? run.lastFailureAt + backoffMs(run.failed) : 0;
  if (wanted > 0 && retryAt > now) return { launch: 0, killActive: false, wakeAt: min(retryAt, deadline) };
  return {
    launch: Math.max(0, wanted),
    killActive: false,
    ...(deadline !== undefined ? { wakeAt: deadline } : {}),
  };
}

const min = (a: number, b: number | undefined): number => (b === undefined ? a : Math.min(a, b));

/**
 * Finished runs to delete: those past `ttlSecondsAfterFinished`, and for a CronJob those beyond its
 * history limits (newest kept). `runs` are one job's runs. Also returns when to look again for the TTL.
 */
export function runsToPrune(
  spec: Pick<JobSpec, 'ttlSecondsAfterFinished' | 'schedule'>,
  runs: ReadonlyArray<Pick<JobRun, 'id' | 'state' | 'finishedAt' | 'createdAt'>>,
  now: number,
): { remove: string[]; wakeAt?: number } {
  const remove = new Set<string>();
  let wakeAt: number | undefined;
  const ttl = spec.ttlSecondsAfterFinished;
  for (const r of runs) {
    if (r.state === 'ACTIVE' || r.finishedAt === undefined || ttl === undefined) continue;
    const expires = r.finishedAt + ttl * 1000;
    if (expires <= now) remove.add(r.id);
    else wakeAt = Math.min(wakeAt ?? expires, expires);
  }
  if (spec.schedule) {
    const newestFirst = [...runs].sort(
      (a, b) => (b.finishedAt ?? b.createdAt) - (a.finishedAt ?? a.createdAt),
    );
    const limits = {
      SUCCEEDED: spec.schedule.successfulJobsHistoryLimit,
      FAILED: spec.schedule.failedJobsHistoryLimit,
    };
    for (const state of ['SUCCEEDED', 'FAILED'] as const)
      newestFirst
        .filter((r) => r.state === state)
        .slice(limits[state])
        .forEach((r) => remove.add(r.id));
  }
  return { remove: [...remove], ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

/**
 * Whether a job with `after` may start: every job it names has a run that succeeded after this job's
 * last run started (or ever, if it never ran), and none of them is running now.
 */
export function dependenciesMet(
  after: readonly string[],
  lastStartOfThis: number | undefined,
  runsOf: (jobId: string) => ReadonlyArray<Pick<JobRun, 'state' | 'finishedAt'>>,
): boolean {
  if (after.length === 0) return false;
  return after.every((dep) => {
    const runs = runsOf(dep);
    if (runs.some((r) => r.state === 'ACTIVE')) return false;
    return runs.some(
      (r) =>
        r.state === 'SUCCEEDED' && (lastStartOfThis === undefined || (r.finishedAt ?? 0) > lastStartOfThis),
    );
  });
}

/** A run id: UTC time to the second and five random characters, like Metronome's `20161013142530SqlmS`. */
export function newRunId(now: number, random: () => number = Math.random): string {
  const d = new Date(now);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  const chars = 'abcdefghijkmnpqrstuvwxyz23456789';
  let tail = '';
  for (let i = 0; i < 5; i++) tail += chars[Math.floor(random() * chars.length)];
  return stamp + tail;
}
