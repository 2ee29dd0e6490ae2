/**
 * The `run` framework: one-off tasks (`berth run`). It keeps its tasks in its own part of the StateStore,
 * launches pending ones on the offers it gets through the public scheduler API, and records their status
 * updates. It revives offers when work arrives and suppresses them when none is left.
 */
import { LABEL_REMOVE_SANDBOX, type Offer, type TaskInfo, type TaskStatus } from '../../api/mesos.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { ConflictError, InvalidArgumentError } from '../../core/errors.js';
import { NAME_PATTERN, newId } from '../../core/ids.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { SchedulerClient, type SchedulerTransport } from '../../sdk/index.js';
import type { StateStore } from '../../store/index.js';
import { computeLaunches, taskResources } from './compute-launches.js';
import { RunTaskNotFoundError } from './errors.js';
import { DEFAULT_MAX_FINISHED_RUNS, finishedToForget } from './finished.js';
import { DEFAULT_CPUS, DEFAULT_MEM_MIB, isFinished, type RunRequest, type RunTask } from './types.js';

export interface RunFrameworkOptions {
  store: StateStore;
  transport: SchedulerTransport;
  clock?: Clock;
  logger?: Logger;
  /** Finished runs kept, the newest (default 1000, as the master's completed tasks per framework). */
  maxFinished?: number;
}

const ID_KEY = 'frameworks/run/framework-id';
const TASKS = 'frameworks/run/tasks/';

export class RunFramework {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tasks = new Map<string, RunTask>();
  private client: SchedulerClient | undefined;
  private suppressed = false;
  private writes: Promise<unknown> = Promise.resolve();
  /** Finished runs in memory: when it passes the bound, the oldest are forgotten (finished.ts). */
  private finishedCount = 0;

  constructor(private readonly options: RunFrameworkOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** Loads its tasks, subscribes (keeping its framework id across restarts) and reconciles. */
  async start(): Promise<void> {
    for (const entry of await this.options.store.list<RunTask>(TASKS))
      this.tasks.set(entry.value.id, structuredClone(entry.value) as RunTask);
    this.finishedCount = [...this.tasks.values()].filter((t) => isFinished(t.state)).length;
    this.forgetFinished();
    const savedId = (await this.options.store.get<string>(ID_KEY))?.value;
    this.client = new SchedulerClient({
      transport: this.options.transport,
      logger: this.logger,
      clock: this.clock,
      framework: {
        name: 'run',
        user: 'root',
        roles: ['*'],
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

  stop(): void {
    this.client?.close();
  }

  submit(request: RunRequest): RunTask {
    const name = request.name ?? undefined;
    if (name !== undefined && !NAME_PATTERN.test(name))
      throw new InvalidArgumentError(
        `bad name "${name}": use letters, digits, "_", "." and "-", up to 63 characters`,
      );
    if (name !== undefined && [...this.tasks.values()].some((t) => t.name === name && !isFinished(t.state))) {
      throw new ConflictError(`a task named "${name}" is still running: pick another --name`);
    }
    const cpus = request.cpus ?? DEFAULT_CPUS;
    const mem = request.mem ?? DEFAULT_MEM_MIB;
    if (!(cpus > 0) || !(mem > 0)) throw new InvalidArgumentError('cpus and mem must be more than zero');
    const now = this.clock.now();
    const id = newId(now);
    const task: RunTask = {
      id,
      name: name ?? defaultName(request.image, id),
      request,
      cpus,
      mem,
      state: 'PENDING',
      created_at: now,
      updated_at: now,
    };
    this.save(task);
    this.logger.debug({ task: id }, 'submitted');
    if (this.suppressed) {
      this.suppressed = false;
      void this.client?.revive().catch((err: unknown) => this.logger.warn({ err }, 'revive failed'));
    }
    return task;
  }

  get(ref: string): RunTask {
    const task =
      this.tasks.get(ref) ??
      [...this.tasks.values()]
        .filter((t) => t.name === ref || t.id.endsWith(ref))
        .sort((a, b) => b.created_at - a.created_at)[0];
    if (!task) throw new RunTaskNotFoundError(ref);
    return task;
  }

  list(): RunTask[] {
    return [...this.tasks.values()].sort((a, b) => b.created_at - a.created_at);
  }

  private async onSubscribed(frameworkId: string): Promise<void> {
    await this.options.store.apply([{ op: 'put', key: ID_KEY, value: frameworkId }]);
    const launched = [...this.tasks.values()].filter((t) => t.state !== 'PENDING' && !isFinished(t.state));
    if (launched.length > 0)
      await this.client?.reconcile(
        launched.map((t) => ({ taskId: t.id, ...(t.agent_id ? { agentId: t.agent_id } : {}) })),
      );
    this.suppressed = false;
  }

  private async onOffers(offers: Offer[]): Promise<void> {
    const client = this.client;
    if (!client) return;
    const pending = [...this.tasks.values()]
      .filter((t) => t.state === 'PENDING')
      .sort((a, b) => a.created_at - b.created_at);
    const plan = computeLaunches(pending, offers);
    this.logger.debug(
      { offers: offers.length, pending: pending.length, launches: plan.launches.size },
      'offers',
    );
    for (const [offerId, tasks] of plan.launches) {
      const offer = offers.find((o) => o.id.value === offerId)!;
      for (const t of tasks)
        this.save({
          ...t,
          state: 'TASK_STAGING',
          agent_id: offer.agent_id.value,
          updated_at: this.clock.now(),
        });
      await client.launch(
        [offerId],
        tasks.map((t) => this.toTaskInfo(t, offer.agent_id.value)),
        1,
      );
    }
    if (plan.decline.length > 0) await client.decline(plan.decline, plan.unplaced.length > 0 ? 1 : 5);
    if (plan.unplaced.length === 0 && !this.suppressed) {
      this.suppressed = true;
      await client.suppress();
    }
  }

  private async onUpdate(status: TaskStatus): Promise<void> {
    const task = this.tasks.get(status.task_id.value);
    if (!task) return;
    if (isFinished(task.state)) return;
    if (status.state === 'TASK_DROPPED') {
      // The master refused the launch (a stale offer): try again on the next offers.
      this.save({
        ...task,
        state: 'PENDING',
        message: status.message ?? 'dropped',
        updated_at: this.clock.now(),
      });
      this.suppressed = false;
      await this.client?.revive();
      return;
    }
    this.save({
      ...task,
      state: status.state,
      ...(status.agent_id ? { agent_id: status.agent_id.value } : {}),
      ...(status.exit_code !== undefined ? { exit_code: status.exit_code } : {}),
      ...(status.message ? { message: status.message } : {}),
      updated_at: this.clock.now(),
    });
  }

  private toTaskInfo(task: RunTask, agentId: string): TaskInfo {
    const r = task.request;
    const argv = r.command ?? [];
    return {
      name: task.name,
      task_id: { value: task.id },
      agent_id: { value: agentId },
      resources: taskResources(task),
      command: {
        shell: false,
        ...(argv.length > 0 ? { value: argv[0], arguments: argv } : {}),
        environment: { variables: Object.entries(r.env ?? {}).map(([name, value]) => ({ name, value })) },
        ...(r.workdir ? { working_dir: r.workdir } : {}),
      },
      ...(r.image
        ? {
            container: {
              type: 'MESOS' as const,
              mesos: { image: { type: 'DOCKER' as const, docker: { name: r.image } } },
            },
          }
        : {}),
      labels: { labels: r.rm ? [{ key: LABEL_REMOVE_SANDBOX, value: 'true' }] : [] },
    };
  }

  /** Records a task; writes go one after the other, so a remote store cannot land an older state last. */
  private save(task: RunTask): void {
    const before = this.tasks.get(task.id);
    if (before && isFinished(before.state)) this.finishedCount--;
    if (isFinished(task.state)) this.finishedCount++;
    this.tasks.set(task.id, task);
    this.writes = this.writes
      .then(() => this.options.store.apply([{ op: 'put', key: TASKS + task.id, value: task }]))
      .catch((err: unknown) => this.logger.error({ err }, 'saving a run task failed'));
    this.forgetFinished();
  }

  /** Forgets the oldest finished runs beyond the bound (the sort runs only once the bound is passed). */
  private forgetFinished(): void {
    const max = this.options.maxFinished ?? DEFAULT_MAX_FINISHED_RUNS;
    if (this.finishedCount <= max) return;
    const ids = finishedToForget(this.tasks.values(), max);
    for (const id of ids) this.tasks.delete(id);
    this.finishedCount -= ids.length;
    const ops = ids.map((id) => ({ op: 'delete' as const, key: TASKS + id }));
    this.writes = this.writes
      .then(async () => {
        for (let i = 0; i < ops.length; i += 100) await this.options.store.apply(ops.slice(i, i + 100));
      })
      .catch((err: unknown) => this.logger.error({ err }, 'forgetting finished runs failed'));
  }
}

/** `busybox-3f9c2a`: the image's last path part and the end of the id, like Docker's generated names. */
function defaultName(image: string | undefined, id: string): string {
  const base = (image ?? 'task')
    .split('@')[0]!
    .split(':')[0]!
    .split('/')
    .pop()!
    .replace(/[^a-zA-Z0-9_.-]/g, '');
  return `${base || 'task'}-${id.slice(-6)}`;
}
