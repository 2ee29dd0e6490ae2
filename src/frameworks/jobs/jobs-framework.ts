/**
 * The jobs framework: Jobs (run to completion), CronJobs (on a schedule) and `after:` dependencies, on
 * the public scheduler API. All its state is in the StateStore under `frameworks/jobs/`; the decisions
 * are the pure functions of `decide.ts`, `cron.ts` and `launch.ts`; this class does the I/O.
 *
 * Restart safety: a task's id and its agent are written to the store before the LAUNCH that starts it,
 * so after a restart every launched task is reconciled with the master and none is started twice.
 */
import type { Offer, TaskStatus } from '../../api/mesos.js';
import { systemClock, type Clock, type Timer } from '../../core/clock.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { SchedulerClient, type SchedulerTransport } from '../../sdk/index.js';
import { scalarOf, type Resource } from '../../core/resources.js';
import type { StateStore, StoreOp } from '../../store/index.js';
import { decideConcurrency, dueRuns, initialScheduleState, nextTime } from './cron.js';
import { dependenciesMet, newRunId, nextActions, runsToPrune } from './decide.js';
import { JobBusyError, JobExistsError, JobNotFoundError, JobRunNotFoundError } from './errors.js';
import { planLaunches, taskInfoFor, type PendingGroup } from './launch.js';
import { checkNoCycle } from './spec.js';
import {
  DEFAULTS,
  isTaskDone,
  type JobRecord,
  type JobRun,
  type JobSpec,
  type JobTask,
  type RunTrigger,
  type ScheduleState,
} from './types.js';

export interface JobsFrameworkOptions {
  store: StateStore;
  /** A new scheduler transport (called again when the framework subscribes with other roles). */
  transport: () => SchedulerTransport;
  clock?: Clock;
  logger?: Logger;
}

const PREFIX = 'frameworks/jobs/';
const ID_KEY = `${PREFIX}framework-id`;
const JOBS = `${PREFIX}jobs/`;
const SCHEDULES = `${PREFIX}schedules/`;
const RUNS = `${PREFIX}runs/`;
const TASKS = `${PREFIX}tasks/`;
/** The longest the controller sleeps without looking at its schedules (guards against clock jumps). */
const MAX_SLEEP_MS = 60_000;
/** Writes per store transaction: below etcd's default --max-txn-ops (128). */
const STORE_CHUNK = 100;
const WRITE_DELAY_MS = 10;

/** A job as the API shows it: the spec and its status. */
export interface JobView {
  id: string;
  kind: JobSpec['kind'];
  spec: JobSpec;
  created_at: number;
  activeRuns: string[];
  lastRun?: Pick<JobRun, 'id' | 'state' | 'createdAt' | 'finishedAt' | 'reason'>;
  nextRunAt?: number;
  schedule?: ScheduleState & { nextRunAt?: number };
  /** Jobs in `after` that do not exist (yet). */
  unknownDependencies?: string[];
}

export interface RunView extends JobRun {
  tasks: Array<JobTask & { logs: string }>;
  /** Why tasks of an active run still wait for resources (from the last offers), e.g. "lack cpus". */
  waiting?: string;
}

export class JobsFramework {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly schedules = new Map<string, ScheduleState>();
  private readonly runs = new Map<string, JobRun>();
  private readonly runsByJob = new Map<string, Set<string>>();
  private readonly tasks = new Map<string, JobTask>();
  private readonly tasksByRun = new Map<string, Set<string>>();
  /** Tasks waiting for an offer, in creation order. */
  private readonly pending = new Map<string, JobTask>();
  private readonly dirtyRuns = new Set<string>();
  /** Run id → why its tasks were not placed on the last offers. */
  private readonly waiting = new Map<string, string>();
  private readonly writes = new Map<string, StoreOp>();
  private flushing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private syncScheduled = false;
  private client: SchedulerClient | undefined;
  private roles: string[] = [DEFAULTS.role];
  private suppressed = false;
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(private readonly options: JobsFrameworkOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /** Loads the state, subscribes, reconciles what was launched, and catches up with the schedules. */
  async start(): Promise<void> {
    const store = this.options.store;
    for (const e of await store.list<JobRecord>(JOBS))
      this.jobs.set(e.value.spec.id, structuredClone(e.value));
    for (const e of await store.list<ScheduleState>(SCHEDULES))
      this.schedules.set(e.key.slice(SCHEDULES.length), structuredClone(e.value));
    for (const e of await store.list<JobRun>(RUNS)) this.indexRun(structuredClone(e.value));
    for (const e of await store.list<JobTask>(TASKS)) {
      const task = structuredClone(e.value);
      if (this.runs.has(task.runId) && task.state !== 'PENDING') this.indexTask(task);
    }
    for (const run of this.runs.values()) this.recount(run);
    this.roles = this.wantedRoles();
    await this.subscribe();
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.client?.close();
  }

  /** Resolves once every change made so far is in the store. */
  async flush(): Promise<void> {
    await this.flushing;
    if (this.writes.size > 0) await this.writeNow();
  }

  private async subscribe(): Promise<void> {
    const savedId = this.client?.id ?? (await this.options.store.get<string>(ID_KEY))?.value;
    this.client = new SchedulerClient({
      transport: this.options.transport(),
      logger: this.logger,
      clock: this.clock,
      framework: {
        name: 'jobs',
        user: 'root',
        roles: this.roles,
        capabilities: [{ type: 'MULTI_ROLE' }],
        checkpoint: true,
        failover_timeout: 7 * 24 * 3600,
        ...(savedId ? { id: { value: savedId } } : {}),
      },
      handlers: {
        subscribed: (id) => this.onSubscribed(id),
        offers: (offers) => this.onOffers(offers),
        update: (status) => this.onUpdate(status),
      },
    });
    await this.client.subscribe();
  }

  private wantedRoles(): string[] {
    return [...new Set([DEFAULTS.role, ...[...this.jobs.values()].map((j) => j.spec.role)])].sort();
  }

  /** Subscribes again when a job names a role the framework is not subscribed in. */
  private async ensureRoles(): Promise<void> {
    const wanted = this.wantedRoles();
    if (wanted.every((r) => this.roles.includes(r))) return;
    this.roles = wanted;
    this.client?.close();
    await this.subscribe();
  }

  private async onSubscribed(frameworkId: string): Promise<void> {
    await this.options.store.apply([{ op: 'put', key: ID_KEY, value: frameworkId }]);
    const launched = [...this.tasks.values()].filter((t) => t.state !== 'PENDING' && !isTaskDone(t.state));
    if (launched.length > 0)
      await this.client?.reconcile(
        launched.map((t) => ({ taskId: t.id, ...(t.agentId ? { agentId: t.agentId } : {}) })),
      );
    this.suppressed = false;
  }

  // ---- jobs ----------------------------------------------------------------------------------------

  /** Creates or replaces a job. With `dryRun`, only checks (including cycles) and changes nothing. */
  async put(
    spec: JobSpec,
    options: { dryRun?: boolean; createOnly?: boolean } = {},
  ): Promise<{ created: boolean }> {
    const existing = this.jobs.get(spec.id);
    if (options.createOnly && existing) throw new JobExistsError(spec.id);
    checkNoCycle(spec, new Map([...this.jobs].map(([id, j]) => [id, j.spec.after])));
    if (options.dryRun) return { created: !existing };
    const now = this.clock.now();
    const record: JobRecord = {
      spec,
      created_at: existing?.created_at ?? now,
      updated_at: now,
      ...(existing?.last_run_at !== undefined ? { last_run_at: existing.last_run_at } : {}),
      ...(existing?.last_success_at !== undefined ? { last_success_at: existing.last_success_at } : {}),
    };
    this.jobs.set(spec.id, record);
    this.write(JOBS + spec.id, record);
    const before = existing?.spec.schedule;
    const after = spec.schedule;
    if (!after) {
      if (this.schedules.delete(spec.id)) this.write(SCHEDULES + spec.id, undefined);
    } else if (
      !before ||
      before.cron !== after.cron ||
      before.timeZone !== after.timeZone ||
      (before.suspend && !after.suspend)
    ) {
      const old = this.schedules.get(spec.id);
      this.saveSchedule(spec.id, {
        ...initialScheduleState(now),
        ...(old ? { missed: old.missed, skipped: old.skipped } : {}),
      });
    }
    await this.flush();
    await this.ensureRoles();
    this.wakeAt(now);
    return { created: !existing };
  }

  /** Deletes a job and its runs. Active runs make it a conflict unless `stopRuns`. */
  async remove(id: string, stopRuns = false): Promise<void> {
    const job = this.getJob(id);
    const active = this.runsOf(id).filter((r) => r.state === 'ACTIVE');
    if (active.length > 0 && !stopRuns)
      throw new JobBusyError(
        `job "${id}" has ${active.length} active run(s): stop them first, or delete with ?stopCurrentJobRuns=true`,
      );
    for (const run of active) this.killRunTasks(run);
    for (const run of this.runsOf(id)) this.forgetRun(run);
    this.jobs.delete(job.spec.id);
    this.schedules.delete(id);
    this.write(JOBS + id, undefined);
    this.write(SCHEDULES + id, undefined);
    await this.flush();
  }

  getJob(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  view(id: string): JobView {
    const job = this.getJob(id);
    const runs = this.runsOf(id).sort((a, b) => b.createdAt - a.createdAt);
    const last = runs[0];
    const sched = this.schedules.get(id);
    const spec = job.spec;
    const nextRunAt =
      spec.schedule && !spec.schedule.suspend ? nextTime(spec.schedule, this.clock.now()) : undefined;
    const unknown = spec.after.filter((a) => !this.jobs.has(a));
    return {
      id,
      kind: spec.kind,
      spec,
      created_at: job.created_at,
      activeRuns: runs.filter((r) => r.state === 'ACTIVE').map((r) => r.id),
      ...(last
        ? {
            lastRun: {
              id: last.id,
              state: last.state,
              createdAt: last.createdAt,
              ...(last.finishedAt !== undefined ? { finishedAt: last.finishedAt } : {}),
              ...(last.reason !== undefined ? { reason: last.reason } : {}),
            },
          }
        : {}),
      ...(nextRunAt !== undefined ? { nextRunAt } : {}),
      ...(sched ? { schedule: { ...sched, ...(nextRunAt !== undefined ? { nextRunAt } : {}) } } : {}),
      ...(unknown.length > 0 ? { unknownDependencies: unknown } : {}),
    };
  }

  list(): JobView[] {
    return [...this.jobs.keys()].sort().map((id) => this.view(id));
  }

  // ---- runs ----------------------------------------------------------------------------------------

  /** Starts a run of a job now. */
  startRun(jobId: string, trigger: RunTrigger = 'manual', scheduledAt?: number): JobRun {
    const job = this.getJob(jobId);
    const now = this.clock.now();
    let id = newRunId(now);
    while (this.runs.has(id)) id = newRunId(now);
    const run: JobRun = {
      id,
      jobId,
      spec: job.spec,
      trigger,
      ...(scheduledAt !== undefined ? { scheduledAt } : {}),
      state: 'ACTIVE',
      createdAt: now,
      nextSeq: 0,
      active: 0,
      succeeded: 0,
      failed: 0,
    };
    this.indexRun(run);
    this.saveRun(run);
    job.last_run_at = now;
    this.write(JOBS + jobId, job);
    this.logger.info({ job: jobId, run: id, trigger }, 'run started');
    this.syncRun(run);
    return run;
  }

  getRun(runId: string, jobId?: string): JobRun {
    const run = this.runs.get(runId);
    if (!run || (jobId !== undefined && run.jobId !== jobId)) throw new JobRunNotFoundError(runId);
    return run;
  }

  runView(runId: string, jobId?: string): RunView {
    const run = this.getRun(runId, jobId);
    const tasks = [...(this.tasksByRun.get(run.id) ?? [])]
      .map((id) => this.tasks.get(id)!)
      .sort((a, b) => a.seq - b.seq)
      .map((t) => ({ ...t, logs: `/api/v1/tasks/${encodeURIComponent(t.id)}/output` }));
    const waiting = run.state === 'ACTIVE' ? this.waiting.get(run.id) : undefined;
    return { ...run, tasks, ...(waiting && tasks.some((t) => t.state === 'PENDING') ? { waiting } : {}) };
  }

  listRuns(jobId: string): Array<JobRun & { waiting?: string }> {
    this.getJob(jobId);
    return this.runsOf(jobId)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((r) => {
        const waiting = r.state === 'ACTIVE' ? this.waiting.get(r.id) : undefined;
        return waiting ? { ...r, waiting } : r;
      });
  }

  /** Asks a run to stop: its tasks are killed and it ends FAILED with the reason. */
  stopRun(runId: string, jobId?: string, why = 'stopped by the user'): JobRun {
    const run = this.getRun(runId, jobId);
    if (run.state !== 'ACTIVE') return run;
    run.stopRequested = why;
    this.saveRun(run);
    this.syncRun(run);
    return run;
  }

  private runsOf(jobId: string): JobRun[] {
    return [...(this.runsByJob.get(jobId) ?? [])].map((id) => this.runs.get(id)!);
  }

  private indexRun(run: JobRun): void {
    this.runs.set(run.id, run);
    let set = this.runsByJob.get(run.jobId);
    if (!set) this.runsByJob.set(run.jobId, (set = new Set()));
    set.add(run.id);
  }

  private indexTask(task: JobTask): void {
    this.tasks.set(task.id, task);
    let set = this.tasksByRun.get(task.runId);
    if (!set) this.tasksByRun.set(task.runId, (set = new Set()));
    set.add(task.id);
  }

  /**
   * Recomputes a loaded run's counters from its stored tasks. Tasks that were waiting for an offer are not
   * stored (they were never launched), so they are simply created again.
   */
  private recount(run: JobRun): void {
    if (run.state !== 'ACTIVE') return;
    const tasks = [...(this.tasksByRun.get(run.id) ?? [])].map((id) => this.tasks.get(id)!);
    run.active = tasks.filter((t) => !isTaskDone(t.state)).length;
    run.succeeded = tasks.filter((t) => t.state === 'TASK_FINISHED').length;
    run.failed = tasks.filter(
      (t) => isTaskDone(t.state) && t.state !== 'TASK_FINISHED' && t.state !== 'TASK_DROPPED',
    ).length;
    run.nextSeq = Math.max(run.nextSeq, ...tasks.map((t) => t.seq + 1));
  }

  private forgetRun(run: JobRun): void {
    for (const id of this.tasksByRun.get(run.id) ?? []) {
      this.tasks.delete(id);
      this.pending.delete(id);
    }
    this.tasksByRun.delete(run.id);
    this.runs.delete(run.id);
    this.runsByJob.get(run.jobId)?.delete(run.id);
    this.writes.set(`${TASKS}${run.id}/`, { op: 'deletePrefix', prefix: `${TASKS}${run.id}/` });
    this.write(RUNS + run.id, undefined);
    this.scheduleFlush();
  }

  /** Applies the run's next actions (see `nextActions`). */
  private syncRun(run: JobRun): void {
    const now = this.clock.now();
    const actions = nextActions(run.spec, run, now);
    if (actions.killActive) this.killRunTasks(run);
    for (let i = 0; i < actions.launch; i++) {
      const seq = run.nextSeq++;
      const task: JobTask = {
        id: `${run.jobId}.${run.id}.${seq}`,
        runId: run.id,
        jobId: run.jobId,
        seq,
        state: 'PENDING',
        createdAt: now,
      };
      run.active++;
      // Not stored until it is placed: a task that never launched needs no record.
      this.indexTask(task);
      this.pending.set(task.id, task);
    }
    if (actions.launch > 0) {
      this.saveRun(run);
      this.reviveIfSuppressed();
    }
    if (actions.finish) this.finishRun(run, actions.finish.state, actions.finish.reason);
    if (actions.wakeAt !== undefined) this.wakeAt(actions.wakeAt);
  }

  private killRunTasks(run: JobRun): void {
    for (const id of this.tasksByRun.get(run.id) ?? []) {
      const task = this.tasks.get(id)!;
      if (isTaskDone(task.state)) continue;
      if (task.state === 'PENDING') {
        this.pending.delete(id);
        this.applyTaskEnd(run, { ...task, state: 'TASK_KILLED', message: 'killed before it was launched' });
        continue;
      }
      this.client
        ?.kill(task.id, task.agentId)
        .catch((err: unknown) => this.logger.warn({ err, task: id }, 'kill failed'));
    }
  }

  private finishRun(run: JobRun, state: 'SUCCEEDED' | 'FAILED', reason?: string): void {
    run.state = state;
    run.finishedAt = this.clock.now();
    if (reason !== undefined) run.reason = reason;
    this.saveRun(run);
    this.logger.info({ job: run.jobId, run: run.id, state, reason }, 'run finished');
    const job = this.jobs.get(run.jobId);
    if (state === 'SUCCEEDED' && job) {
      job.last_success_at = run.finishedAt;
      this.write(JOBS + run.jobId, job);
    }
    if (state === 'SUCCEEDED') this.startDependents(run.jobId);
    this.pruneRuns(run.jobId);
  }

  private startDependents(jobId: string): void {
    for (const job of this.jobs.values()) {
      if (!job.spec.after.includes(jobId)) continue;
      const runs = this.runsOf(job.spec.id);
      if (runs.some((r) => r.state === 'ACTIVE')) continue;
      const lastStart = runs.reduce<number | undefined>(
        (m, r) => Math.max(m ?? 0, r.createdAt),
        job.last_run_at,
      );
      if (dependenciesMet(job.spec.after, lastStart, (id) => this.historyOf(id)))
        this.startRun(job.spec.id, 'dependency');
    }
  }

  /** A job's runs, plus its last success even when that run was pruned. */
  private historyOf(jobId: string): Array<Pick<JobRun, 'state' | 'finishedAt'>> {
    const runs: Array<Pick<JobRun, 'state' | 'finishedAt'>> = this.runsOf(jobId);
    const last = this.jobs.get(jobId)?.last_success_at;
    return last !== undefined ? [...runs, { state: 'SUCCEEDED', finishedAt: last }] : runs;
  }

  private pruneRuns(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const { remove, wakeAt } = runsToPrune(job.spec, this.runsOf(jobId), this.clock.now());
    for (const id of remove) {
      const run = this.runs.get(id);
      if (run) this.forgetRun(run);
    }
    if (wakeAt !== undefined) this.wakeAt(wakeAt);
  }

  // ---- scheduler events ----------------------------------------------------------------------------

  private async onOffers(offers: Offer[]): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (this.pending.size === 0) {
      await client.decline(
        offers.map((o) => o.id.value),
        5,
      );
      if (!this.suppressed) {
        this.suppressed = true;
        await client.suppress();
      }
      return;
    }
    this.waiting.clear();
    const plan = planLaunches(this.pendingGroups(offers), offers);
    const now = this.clock.now();
    for (const launches of plan.byOffer.values())
      for (const l of launches) {
        this.pending.delete(l.task.id);
        Object.assign(l.task, {
          state: 'TASK_STAGING',
          agentId: l.agentId,
          hostname: l.hostname,
          launchedAt: now,
        });
        this.saveTask(l.task);
      }
    // The task ids and agents are in the store before any LAUNCH goes out; if they cannot be written,
    // nothing is launched and the tasks wait for the next offers.
    try {
      await this.flush();
    } catch {
      for (const launches of plan.byOffer.values())
        for (const l of launches) {
          l.task.state = 'PENDING';
          delete l.task.agentId;
          delete l.task.hostname;
          delete l.task.launchedAt;
          this.pending.set(l.task.id, l.task);
        }
      await client.decline(
        offers.map((o) => o.id.value),
        1,
      );
      return;
    }
    for (const [offerId, launches] of plan.byOffer) {
      await client
        .launch(
          [offerId],
          launches.map((l) => taskInfoFor(l.task, l.spec, l.agentId, l.resources)),
          1,
        )
        .catch(async (err: unknown) => {
          this.logger.warn({ err, offer: offerId }, 'launch failed; reconciling its tasks');
          await client.reconcile(launches.map((l) => ({ taskId: l.task.id, agentId: l.agentId })));
        });
    }
    if (plan.unused.length > 0) await client.decline(plan.unused, plan.unplaced > 0 ? 1 : 5);
    for (const [runId, reason] of plan.reasons) this.waiting.set(runId, reason);
    if (plan.unplaced > 0)
      this.logger.debug(
        { unplaced: plan.unplaced, reasons: [...plan.reasons.values()] },
        'tasks wait for offers',
      );
  }

  /**
   * The waiting tasks by run, oldest first, but only as many as the offers could possibly take by cpus
   * and mem (so that a run of 10,000 tasks is not walked for every offer).
   */
  private pendingGroups(offers: readonly Offer[]): PendingGroup[] {
    // What the offers hold per role they are allocated to, less what the tasks taken so far need.
    const room = new Map<string, { cpus: number; mem: number }>();
    for (const o of offers) {
      const resources = o.resources as Resource[];
      const role = resources.find((r) => r.allocation_info)?.allocation_info?.role ?? '*';
      const left = room.get(role) ?? { cpus: 0, mem: 0 };
      left.cpus += scalarOf(resources, 'cpus');
      left.mem += scalarOf(resources, 'mem');
      room.set(role, left);
    }
    const byRun = new Map<string, JobTask[]>();
    let full = 0;
    for (const task of this.pending.values()) {
      if (full === room.size) break; // nothing else fits anywhere
      const spec = this.runs.get(task.runId)?.spec;
      const left = spec && (room.get(spec.role) ?? room.get('*'));
      if (!spec || !left || left.cpus < 0) continue;
      if (spec.resources.cpus > left.cpus + 1e-9 || spec.resources.mem > left.mem + 1e-9) {
        if (!this.waiting.has(task.runId))
          this.waiting.set(
            task.runId,
            `each task needs cpus ${spec.resources.cpus}, mem ${spec.resources.mem}; the offers left have cpus ${+Math.max(0, left.cpus).toFixed(3)}, mem ${+Math.max(0, left.mem).toFixed(3)} in role ${spec.role}`,
          );
        // Too big for what is left (a smaller task later may fit); when little is left, stop looking.
        if (left.cpus < 0.01 || left.mem < 1) {
          left.cpus = -1;
          full++;
        }
        continue;
      }
      left.cpus -= spec.resources.cpus;
      left.mem -= spec.resources.mem;
      const list = byRun.get(task.runId);
      if (list) list.push(task);
      else byRun.set(task.runId, [task]);
    }
    const groups: PendingGroup[] = [];
    for (const [runId, tasks] of byRun) {
      const run = this.runs.get(runId);
      if (!run) continue;
      const existing = [];
      if (run.spec.constraints.length > 0)
        for (const id of this.tasksByRun.get(runId) ?? []) {
          const t = this.tasks.get(id)!;
          if (t.agentId && !isTaskDone(t.state))
            existing.push({ agentId: t.agentId, hostname: t.hostname ?? '', attributes: {} });
        }
      groups.push({ spec: run.spec, tasks, existing });
    }
    return groups;
  }

  private onUpdate(status: TaskStatus): void {
    const task = this.tasks.get(status.task_id.value);
    if (!task) {
      // Not ours any more (its run was deleted): make sure it does not linger.
      if (!isTaskDone(status.state) && status.state !== 'TASK_UNKNOWN')
        this.client?.kill(status.task_id.value, status.agent_id?.value).catch(() => undefined);
      return;
    }
    if (isTaskDone(task.state)) return;
    const run = this.runs.get(task.runId);
    if (!run) return;
    const now = this.clock.now();
    if (
      status.state === 'TASK_STARTING' ||
      (status.state === 'TASK_RUNNING' && task.startedAt === undefined)
    ) {
      // The common path, kept cheap: only memory changes until the task ends.
      task.state = status.state;
      if (status.state === 'TASK_RUNNING') task.startedAt = now;
      return;
    }
    const next: JobTask = {
      ...task,
      state: status.state === 'TASK_UNKNOWN' ? 'TASK_LOST' : status.state,
      ...(status.agent_id ? { agentId: status.agent_id.value } : {}),
      ...(status.exit_code !== undefined ? { exitCode: status.exit_code } : {}),
      ...(status.message ? { message: status.message } : {}),
      ...(status.state === 'TASK_RUNNING' && task.startedAt === undefined ? { startedAt: now } : {}),
    };
    if (isTaskDone(next.state)) this.applyTaskEnd(run, next);
    else {
      // Only the launch and the end are stored; the states between are reconciled after a restart.
      this.indexTask(next);
      if (task.state === 'PENDING') this.saveTask(next);
    }
  }

  /** Records a task's end in its run's counters and marks the run for a sync. */
  private applyTaskEnd(run: JobRun, task: JobTask): void {
    const now = this.clock.now();
    const done: JobTask = { ...task, finishedAt: now };
    this.indexTask(done);
    if (task.launchedAt !== undefined) this.saveTask(done);
    run.active = Math.max(0, run.active - 1);
    if (done.state === 'TASK_FINISHED') run.succeeded++;
    else if (done.state !== 'TASK_DROPPED' && run.stopRequested === undefined && run.state === 'ACTIVE') {
      // A dropped launch (a stale offer) is no fault of the task: it is simply tried again.
      run.failed++;
      run.lastFailureAt = now;
    }
    this.saveRun(run);
    this.markRunDirty(run.id);
  }

  private markRunDirty(runId: string): void {
    this.dirtyRuns.add(runId);
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      const ids = [...this.dirtyRuns];
      this.dirtyRuns.clear();
      for (const id of ids) {
        const run = this.runs.get(id);
        if (run && run.state === 'ACTIVE') this.syncRun(run);
      }
    });
  }

  private reviveIfSuppressed(): void {
    if (!this.suppressed) return;
    this.suppressed = false;
    this.client?.revive().catch((err: unknown) => this.logger.warn({ err }, 'revive failed'));
  }

  // ---- time ----------------------------------------------------------------------------------------

  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, at - this.clock.now()));
  }

  /** Looks at everything that depends on time: schedules, deadlines, backoffs, TTLs. */
  private tick(): void {
    if (this.stopped) return;
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    for (const run of this.runs.values()) if (run.state === 'ACTIVE') this.syncRun(run);
    for (const job of this.jobs.values()) {
      if (job.spec.schedule) this.fireSchedule(job.spec, now);
      if (job.spec.ttlSecondsAfterFinished !== undefined) this.pruneRuns(job.spec.id);
    }
    this.wakeAt(now + MAX_SLEEP_MS);
  }

  private fireSchedule(spec: JobSpec, now: number): void {
    const schedule = spec.schedule!;
    const state = this.schedules.get(spec.id) ?? initialScheduleState(now);
    const due = dueRuns(schedule, state.lastScheduledAt, now);
    const next: ScheduleState = {
      ...state,
      lastScheduledAt: due.lastScheduledAt,
      missed: state.missed + due.missed,
      ...(due.missed > 0 ? { lastMissedAt: due.lastScheduledAt } : {}),
    };
    if (due.start !== undefined) {
      const active = this.runsOf(spec.id).filter((r) => r.state === 'ACTIVE');
      const decision = decideConcurrency(
        schedule.concurrencyPolicy,
        active.map((r) => r.id),
      );
      if (decision.skipped) next.skipped++;
      const replacing = decision.replace;
      if (decision.start) {
        const run = this.startRun(spec.id, 'schedule', due.start);
        next.lastStartedAt = now;
        for (const id of replacing)
          this.stopRun(id, spec.id, `replaced by run ${run.id} (concurrencyPolicy Replace)`);
      }
    }
    if (
      next.lastScheduledAt !== state.lastScheduledAt ||
      next.missed !== state.missed ||
      next.skipped !== state.skipped ||
      !this.schedules.has(spec.id)
    )
      this.saveSchedule(spec.id, next);
    this.wakeAt(due.nextAt);
  }

  /** Test hook and operator aid: looks at schedules and deadlines now. */
  evaluate(): void {
    this.tick();
  }

  // ---- store ---------------------------------------------------------------------------------------

  private saveRun(run: JobRun): void {
    this.write(RUNS + run.id, run);
  }

  private saveTask(task: JobTask): void {
    this.write(`${TASKS}${task.runId}/${task.id}`, task);
  }

  private saveSchedule(jobId: string, state: ScheduleState): void {
    this.schedules.set(jobId, state);
    this.write(SCHEDULES + jobId, state);
  }

  /**
   * Queues a write. Writes are batched: what changes within WRITE_DELAY_MS goes out in one transaction
   * (a launch does not wait for it: `onOffers` flushes before it launches).
   */
  private write(key: string, value: unknown): void {
    this.writes.delete(key);
    // The live object is queued: the batch writes it as it is when the batch goes out.
    this.writes.set(key, value === undefined ? { op: 'delete', key } : { op: 'put', key, value });
    this.scheduleFlush();
  }

  private scheduleFlush(delayMs = WRITE_DELAY_MS): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    // A real timer, not the injected clock: batching is about I/O, not about the jobs' time.
    setTimeout(() => {
      this.flushScheduled = false;
      this.writeNow().catch(() => undefined); // logged in writeNow
    }, delayMs);
  }

  private writeNow(): Promise<void> {
    // Stores encode values when `apply` is called, so the live objects are written as they are then.
    const ops = [...this.writes.values()];
    this.writes.clear();
    const batch = this.flushing.then(async () => {
      for (let i = 0; i < ops.length; i += STORE_CHUNK) {
        const chunk = ops.slice(i, i + STORE_CHUNK);
        try {
          await this.options.store.apply(chunk);
        } catch (err) {
          // Queued again (unless written anew since), so that the next batch retries them.
          for (const op of ops.slice(i)) {
            const key = op.op === 'deletePrefix' ? op.prefix : op.key;
            if (!this.writes.has(key)) this.writes.set(key, op);
          }
          this.scheduleFlush(1000);
          throw err;
        }
      }
    });
    // The chain goes on after a failed batch; the caller of this batch sees the failure.
    this.flushing = batch.catch((err: unknown) => this.logger.error({ err }, 'saving jobs state failed'));
    return batch;
  }
}
