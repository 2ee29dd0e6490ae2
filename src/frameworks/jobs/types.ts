/**
 * The jobs framework's data: a job's spec (what `berth apply -f` sends for `kind: Job` and `kind: CronJob`),
 * its runs and their tasks, and a CronJob's schedule state. Everything is kept under `frameworks/jobs/` in
 * the StateStore.
 */
import type { TaskState } from '../../api/mesos.js';
import type { Constraint } from '../placement/index.js';

export type JobKind = 'Job' | 'CronJob';
export type RestartPolicy = 'Never' | 'OnFailure';
export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';

export interface JobUri {
  value: string;
  extract?: boolean;
  executable?: boolean;
}

export interface JobResources {
  cpus: number;
  /** MiB */
  mem: number;
  /** MiB */
  disk?: number;
  gpus?: number;
}

/** The cron part of a CronJob. */
export interface JobSchedule {
  /** Five-field cron expression (minute hour day-of-month month day-of-week) or `@hourly`-style macro. */
  cron: string;
  /** IANA time zone the expression is read in; default UTC. */
  timeZone: string;
  /** A run missed by more than this many seconds is counted as missed instead of started. */
  startingDeadlineSeconds?: number;
  concurrencyPolicy: ConcurrencyPolicy;
  suspend: boolean;
  successfulJobsHistoryLimit: number;
  failedJobsHistoryLimit: number;
}

/** A validated, normalized job (the template of every run). */
export interface JobSpec {
  kind: JobKind;
  id: string;
  description?: string;
  image?: string;
  /** A string runs as `/bin/sh -c`; a list is argv. Absent with an image: the image's default command. */
  command?: string | string[];
  args?: string[];
  uris?: JobUri[];
  env?: Record<string, string>;
  workdir?: string;
  resources: JobResources;
  constraints: Constraint[];
  role: string;
  completions: number;
  parallelism: number;
  restartPolicy: RestartPolicy;
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  /** Jobs that must succeed (each since this job last ran) before this one starts. */
  after: string[];
  /** Only for kind CronJob. */
  schedule?: JobSchedule;
}

/** A job as stored: the spec plus bookkeeping. */
export interface JobRecord {
  spec: JobSpec;
  created_at: number;
  updated_at: number;
  /** When its last run started (kept when old runs are pruned; `after:` needs it). */
  last_run_at?: number;
  /** When its last successful run ended (kept when old runs are pruned). */
  last_success_at?: number;
}

export type RunState = 'ACTIVE' | 'SUCCEEDED' | 'FAILED';
export type RunTrigger = 'manual' | 'schedule' | 'dependency';

/** One run of a job, under `frameworks/jobs/runs/<jobId>/<runId>`. Its tasks are stored apart. */
export interface JobRun {
  id: string;
  jobId: string;
  /** The spec the run was started with (later edits of the job do not change a run). */
  spec: JobSpec;
  trigger: RunTrigger;
  /** For scheduled runs: the schedule time it stands for. */
  scheduledAt?: number;
  state: RunState;
  /** Why it ended, for FAILED runs: `BackoffLimitExceeded: …`, `DeadlineExceeded: …`, `Stopped: …`. */
  reason?: string;
  createdAt: number;
  finishedAt?: number;
  /** Tasks started so far (task ids are `<jobId>.<runId>.<seq>`). */
  nextSeq: number;
  /** Tasks waiting for an offer or launched and not yet terminal. */
  active: number;
  succeeded: number;
  failed: number;
  lastFailureAt?: number;
  /** Set by `stop`: the controller kills the tasks and ends the run. */
  stopRequested?: string;
}

export type JobTaskState = 'PENDING' | TaskState;

/** One task of a run, under `frameworks/jobs/tasks/<runId>/<taskId>`. */
export interface JobTask {
  id: string;
  runId: string;
  jobId: string;
  seq: number;
  state: JobTaskState;
  agentId?: string;
  hostname?: string;
  exitCode?: number;
  message?: string;
  createdAt: number;
  launchedAt?: number;
  startedAt?: number;
  finishedAt?: number;
}

/** A CronJob's schedule state, under `frameworks/jobs/schedules/<jobId>`. */
export interface ScheduleState {
  /** The last schedule time that was dealt with (started, skipped or missed). */
  lastScheduledAt: number;
  /** When the last run was actually started by the schedule. */
  lastStartedAt?: number;
  /** Schedule times that passed without a run (berth was down past the starting deadline). */
  missed: number;
  /** Schedule times skipped because of `concurrencyPolicy: Forbid`. */
  skipped: number;
  lastMissedAt?: number;
}

const DONE: ReadonlySet<JobTaskState> = new Set<JobTaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

export const isTaskDone = (state: JobTaskState): boolean => DONE.has(state);

export const DEFAULTS = {
  cpus: 0.1,
  mem: 64,
  completions: 1,
  parallelism: 1,
  backoffLimit: 6,
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 1,
  role: 'batch',
} as const;
