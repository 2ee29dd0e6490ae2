/**
 * A framework that only launches load, built on the SDK like any outside framework: it places a given
 * number of tasks of one size on whatever it is offered (as many per offer as fit), and counts what
 * becomes of them. The scheduling benchmarks and `berth sim` tests drive the master with it.
 */
import type { Offer, TaskInfo, TaskStatus } from '../api/mesos.js';
import { isTerminal } from '../api/mesos.js';
import { scalarOf, type Resource } from '../core/resources.js';
import { SchedulerClient } from '../sdk/scheduler-client.js';
import type { SchedulerTransport } from '../sdk/transport.js';

export interface LoadFrameworkOptions {
  transport: SchedulerTransport;
  name: string;
  role?: string;
  /** How many tasks to launch in all. */
  tasks: number;
  taskResources: Resource[];
  /** Task ids are `<prefix>-<n>` (default: the framework's name). */
  idPrefix?: string;
  /** What every task runs (default: the command `true`, no image; hollow agents ignore it anyway). */
  taskTemplate?: Pick<TaskInfo, 'command' | 'container' | 'labels'>;
  /** Called when a task reaches a state for the first time. */
  onState?: (status: TaskStatus) => void;
}

export interface LoadStats {
  launched: number;
  running: number;
  finished: number;
  failed: number;
  /** Tasks that reached TASK_RUNNING at least once. */
  everRunning: number;
  /** Launches the master dropped or that failed, placed again. */
  dropped: number;
}

/** How many tasks of `task`'s size fit in `offered`, by every scalar the task asks for (pure). */
export function computeTasksThatFit(
  offered: readonly Resource[],
  task: readonly Resource[],
  wanted: number,
): number {
  let fit = wanted;
  for (const r of task) {
    if (r.type !== 'SCALAR' || !r.scalar || r.scalar.value <= 0) continue;
    fit = Math.min(fit, Math.floor((scalarOf(offered, r.name) + 1e-9) / r.scalar.value));
  }
  return Math.max(0, fit);
}

export class LoadFramework {
  readonly client: SchedulerClient;
  readonly stats: LoadStats = { launched: 0, running: 0, finished: 0, failed: 0, everRunning: 0, dropped: 0 };
  /** `performance.now()` when the first offer came. */
  firstOfferAt: number | undefined;
  private readonly states = new Map<string, TaskStatus['state']>();
  private waiters: Array<() => void> = [];

  constructor(private readonly options: LoadFrameworkOptions) {
    this.client = new SchedulerClient({
      transport: options.transport,
      framework: {
        name: options.name,
        user: 'root',
        ...(options.role ? { roles: [options.role], capabilities: [{ type: 'MULTI_ROLE' }] } : {}),
        failover_timeout: 0,
      },
      reconcileIntervalMs: 0,
      handlers: {
        offers: (offers) => this.offers(offers),
        update: (status) => this.update(status),
      },
    });
  }

  /** How many tasks this framework launches in all. */
  get target(): number {
    return this.options.tasks;
  }

  start(): Promise<string> {
    return this.client.subscribe();
  }

  stop(): void {
    this.client.close();
  }

  /** Resolves once `done(stats)` holds (checked after every update). */
  until(done: (stats: LoadStats) => boolean): Promise<void> {
    if (done(this.stats)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done(this.stats)) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** Calls (ACCEPT, DECLINE) that failed. */
  failedCalls = 0;

  /** Answers each offer at once; the calls are not waited for, so the next event need not wait either. */
  private offers(offers: Offer[]): void {
    this.firstOfferAt ??= performance.now();
    const calls: Promise<void>[] = [];
    const prefix = this.options.idPrefix ?? this.options.name;
    for (const offer of offers) {
      const left = this.options.tasks - this.stats.launched;
      const n = computeTasksThatFit(offer.resources as Resource[], this.options.taskResources, left);
      if (n === 0) {
        // Nothing more to place here: don't be offered this agent again soon.
        calls.push(this.client.decline([offer.id.value], left === 0 ? 3600 : 5));
        continue;
      }
      const tasks: TaskInfo[] = [];
      for (let i = 0; i < n; i++) {
        this.stats.launched++;
        const id = `${prefix}-${this.nextId++}`;
        tasks.push({
          name: id,
          task_id: { value: id },
          agent_id: offer.agent_id,
          resources: this.options.taskResources,
          ...(this.options.taskTemplate ?? { command: { value: 'true', shell: false } }),
        });
      }
      // What the tasks leave of the offer comes back at once, to be offered again (no filter). A launch
      // that fails is placed again on later offers.
      calls.push(
        this.client.launch([offer.id.value], tasks, 0).catch((err: unknown) => this.relaunch(n, err)),
      );
    }
    if (this.stats.launched >= this.options.tasks && !this.suppressed) {
      this.suppressed = true;
      calls.push(this.client.suppress());
    }
    for (const call of calls) call.catch(() => void this.failedCalls++);
  }

  private suppressed = false;
  private nextId = 0;

  /** `n` tasks were not launched after all (the call failed, or the master dropped them): place them again. */
  private relaunch(n: number, err?: unknown): void {
    if (err !== undefined) this.failedCalls++;
    this.stats.launched -= n;
    this.stats.dropped += n;
    if (this.suppressed) {
      this.suppressed = false;
      this.client.revive().catch(() => void this.failedCalls++);
    }
  }

  private update(status: TaskStatus): void {
    const id = status.task_id.value;
    const before = this.states.get(id);
    if (before === status.state) return;
    this.states.set(id, status.state);
    if (before === 'TASK_RUNNING') this.stats.running--;
    if (status.state === 'TASK_DROPPED' && before === undefined) {
      // e.g. an offer rescinded before the ACCEPT came (a framework slow to answer): not a failure.
      this.states.delete(id);
      this.relaunch(1);
      return;
    }
    if (status.state === 'TASK_RUNNING') {
      this.stats.running++;
      this.stats.everRunning++;
    } else if (status.state === 'TASK_FINISHED') this.stats.finished++;
    else if (isTerminal(status.state)) this.stats.failed++;
    this.options.onState?.(status);
    for (const waiter of [...this.waiters]) waiter();
  }
}
