/**
 * The agent: subscribes to the master, launches and kills tasks through the containerizer, checkpoints
 * every task and status update in its StateStore, and serves task output. Tasks run under supervisors
 * that do not depend on this process, so an agent restart recovers them (`recover()`).
 */
import { constants as osConstants, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent, OutputRecord } from '../api/agent.js';
import {
  isTerminal,
  REASON_TASK_CHECK_STATUS_UPDATED,
  REASON_TASK_HEALTH_CHECK_STATUS_UPDATED,
  type AgentInfo,
  type CheckStatusInfo,
  type FrameworkInfo,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from '../api/mesos.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Resource } from '../core/resources.js';
import type { ExitStatus } from '../runtime/index.js';
import type { StateStore } from '../store/index.js';
import { ProbingTaskChecker, type CheckRun, type TaskChecker } from './checks/index.js';
import type { TaskContainerizer } from './containerizer.js';
import { AgentTaskNotFoundError, SandboxRemovedError } from './errors.js';
import { wantsSandboxRemoved } from './launch-spec.js';
import type { MasterLink } from './master-link.js';
import { AgentVolumes } from './volumes.js';
import { followOutput } from './output.js';
import { StatusUpdateManager } from './status-update-manager.js';
import type { AgentTask } from './types.js';

export interface AgentOptions {
  store: StateStore;
  link: MasterLink;
  containerizer: TaskContainerizer;
  workDir: string;
  resources: Resource[];
  hostname?: string;
  /** The agent's own HTTP API, when it has one (separate processes). */
  address?: string;
  clock?: Clock;
  logger?: Logger;
  attributes?: AgentInfo['attributes'];
  /** How long an `--rm` sandbox waits for a reader of its output before it is removed anyway. */
  removeGraceMs?: number;
  /**
   * How often the agent tells the master it is alive (default 15 s). 0: the agent keeps no timer of its
   * own and its owner calls `heartbeat()` (the simulator ticks thousands of hollow agents from one timer).
   */
  heartbeatSeconds?: number;
  /** Runs health and readiness checks (default: real probes; hollow agents pass `instantTaskChecker`). */
  checker?: TaskChecker;
}

interface Runtime {
  exited: Promise<void>;
  markExited: () => void;
  /** Output followers waiting for more output; woken when the task ends. */
  wakers: Set<() => void>;
  killRequested: boolean;
  finalizing?: Promise<void>;
  /** The release of the runtime's state and rootfs mount, after the task ended. */
  cleaning?: Promise<void>;
  /** The task's running health and readiness checks. */
  checks?: CheckRun;
  /** Set when failed health checks killed the task: its final update's message. */
  unhealthy?: string;
}

/** How long a task killed by its health check gets after SIGTERM, unless its kill_policy says (Mesos: 3 s). */
const HEALTH_KILL_GRACE_SECONDS = 3;

const ID_KEY = 'agent/id';
const LAUNCH_WAIT_MS = 10_000;
/** What never changes of a task (its TaskInfo above all), written once at launch. */
const TASKS = 'agent/tasks/';
/** What changes (status, pending updates, flags), rewritten at every status update and acknowledgement. */
const TASK_STATE = 'agent/task-state/';
type MutableTaskFields = Pick<AgentTask, 'status' | 'pending' | 'running_at' | 'removed' | 'cleaned'>;
/** Operations per checkpoint write, one more at most (etcd refuses transactions of more than 128). */
const CHECKPOINT_BATCH = 100;

export class Agent {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tasks = new Map<string, AgentTask>();
  /** Tasks whose checkpoint changed since the last write, and the writer that is writing them. */
  private readonly dirty = new Set<string>();
  /** Launched tasks whose unchanging part is not written yet. */
  private readonly unwritten = new Set<string>();
  private checkpointing: Promise<void> | undefined;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly launchWaiters = new Set<(taskId: string) => void>();
  private readonly updates: StatusUpdateManager;
  private readonly checker: TaskChecker;
  private agentId: string | undefined;
  private streamId: string | undefined;
  private stopping = false;
  private reconnectDelay = 500;
  private subscribed: Promise<void> = Promise.resolve();
  /** The master said it takes compact task reports in a SUBSCRIBE (see `subscribe`). */
  private compactReports = false;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** Reservations and volumes (checkpointed; volume directories follow them). */
  private readonly volumes: AgentVolumes;

  constructor(private readonly options: AgentOptions) {
    this.volumes = new AgentVolumes(options.store, options.workDir);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.checker = options.checker ?? new ProbingTaskChecker({ clock: this.clock });
    this.updates = new StatusUpdateManager({
      clock: this.clock,
      tasks: this.tasks,
      persist: (taskId) => this.persist(taskId),
      send: (frameworkId, status) => this.sendUpdate(frameworkId, status),
    });
  }

  get id(): string | undefined {
    return this.agentId;
  }

  get sandboxRoot(): string {
    return join(this.options.workDir, 'sandboxes');
  }

  /** Loads checkpointed tasks and finds out what became of the ones that were running. */
  async recover(): Promise<void> {
    this.agentId = (await this.options.store.get<string>(ID_KEY))?.value;
    await this.volumes.recover();
    const states = new Map<string, MutableTaskFields>();
    for (const entry of await this.options.store.list<MutableTaskFields>(TASK_STATE))
      states.set(entry.key.slice(TASK_STATE.length), entry.value);
    for (const entry of await this.options.store.list<AgentTask>(TASKS)) {
      const id = entry.key.slice(TASKS.length);
      // A checkpoint from before the split carries its state in the one record.
      const task = structuredClone({ ...entry.value, ...states.get(id) }) as AgentTask;
      this.tasks.set(task.task.task_id.value, task);
    }
    for (const [id, task] of this.tasks) {
      if (isTerminal(task.status.state)) {
        // Ended, reported, then the agent died before releasing the runtime's state and mount.
        if (task.cleaned === false && !task.removed) void this.cleanup(id, task, this.newRuntime(id));
        continue;
      }
      const runtime = this.newRuntime(id);
      const found = await this.options.containerizer.recover(task.task, task.sandbox);
      if (found.state === 'running') {
        // The agent stopped between handing the task to its supervisor and reporting it running: the
        // supervisor lives on, so the task is running now (if it never starts, its exit status follows).
        if (task.status.state !== 'TASK_RUNNING') {
          task.running_at = this.clock.now();
          this.update(id, 'TASK_RUNNING');
        }
        this.startChecks(id, task, runtime);
        void this.watch(id, task, runtime);
      } else if (found.state === 'exited') void this.finish(id, task, runtime, found.status);
      else
        this.terminal(id, task, runtime, 'TASK_LOST', {
          message: `lost while the agent was down: ${found.message}`,
          reason: 'REASON_EXECUTOR_TERMINATED',
        });
    }
    this.logger.info({ tasks: this.tasks.size }, 'agent recovered');
  }

  async start(): Promise<void> {
    this.subscribed = this.subscribe();
    await this.subscribed;
    const seconds = this.options.heartbeatSeconds ?? 15;
    if (seconds <= 0) return;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), seconds * 1000);
    this.heartbeatTimer.unref();
  }

  /** Tells the master this agent is alive; a master that hears nothing marks it unreachable. */
  heartbeat(): void {
    const streamId = this.streamId;
    if (!streamId || !this.agentId) return;
    this.options.link
      .call(streamId, { type: 'HEARTBEAT', agent_id: { value: this.agentId } })
      .catch((err: unknown) => {
        this.logger.warn({ err: describeError(err) }, 'heartbeat failed');
      });
  }

  /** Stops talking to the master. Running tasks keep running; a restarted agent recovers them. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const runtime of this.runtimes.values()) runtime.checks?.stop();
    this.updates.stop();
    this.options.link.close();
    // Checkpoints already on their way must land before the store closes (a remote store such as etcd
    // completes them asynchronously); a lost final status would turn into TASK_LOST after a restart.
    await this.checkpointing;
    await this.options.store.apply([]);
  }

  private async subscribe(): Promise<void> {
    // To a master that takes them, tasks go by status only (it knows their TaskInfo: it launched them);
    // if it refuses them (ERR_CONFLICT: it does not know one), the next attempt sends every task in full.
    const compact = this.compactReports && this.agentId !== undefined;
    const reports = compact
      ? []
      : [...this.tasks.values()].map((t) => ({
          framework_id: { value: t.framework_id },
          task: t.task,
          status: t.status,
        }));
    const known = compact
      ? [...this.tasks.values()].map((t) => ({ framework_id: { value: t.framework_id }, status: t.status }))
      : undefined;
    const { streamId } = await this.options.link
      .subscribe(
        {
          type: 'SUBSCRIBE',
          subscribe: {
            agent_info: {
              ...(this.agentId ? { id: { value: this.agentId } } : {}),
              hostname: this.options.hostname ?? osHostname(),
              ...(this.options.address ? { address: this.options.address } : {}),
              resources: this.options.resources,
              ...(this.options.attributes ? { attributes: this.options.attributes } : {}),
            },
            tasks: reports,
            ...(known?.length ? { known_tasks: known } : {}),
            checkpointed_resources: this.volumes.resources,
          },
        },
        { onEvent: (event) => this.handleEvent(event), onClose: (reason) => this.onStreamClosed(reason) },
        { output: (taskId, opts) => this.output(taskId, opts) },
      )
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 'ERR_CONFLICT') this.compactReports = false;
        throw err;
      });
    this.streamId = streamId;
    this.reconnectDelay = 500;
  }

  private onStreamClosed(reason?: string): void {
    this.streamId = undefined;
    if (this.stopping) return;
    this.logger.warn({ reason }, 'master stream closed; subscribing again');
    const retry = (): void => {
      if (this.stopping) return;
      this.subscribe().catch((err: unknown) => {
        this.logger.warn({ err: describeError(err) }, 'subscribing to the master failed');
        // A restarted or failed-over master is back within seconds: back off only up to 1 s, with jitter
        // so that thousands of agents do not all knock at once. (A restarting master opens its port
        // before it loads its state, and holds the agents that come meanwhile: a knock while it is
        // down costs only a refused connection.)
        this.reconnectDelay = Math.min(this.reconnectDelay * 2, 1_000);
        this.clock.setTimeout(retry, this.reconnectDelay * (0.75 + Math.random() * 0.5));
      });
    };
    this.clock.setTimeout(retry, this.reconnectDelay);
  }

  private handleEvent(event: AgentEvent): void {
    switch (event.type) {
      case 'SUBSCRIBED': {
        const id = event.subscribed.agent_id.value;
        if (id !== this.agentId) void this.options.store.apply([{ op: 'put', key: ID_KEY, value: id }]);
        this.agentId = id;
        this.compactReports = event.subscribed.compact_reports === true;
        this.updates.resendAll();
        return;
      }
      case 'LAUNCH':
        return void this.launch(
          event.launch.framework_id.value,
          event.launch.framework_info,
          event.launch.task,
        );
      case 'KILL':
        return void this.kill(event.kill.task_id.value, event.kill.grace_period_seconds ?? 10);
      case 'ACKNOWLEDGED':
        return this.updates.acknowledge(event.acknowledged.task_id.value, event.acknowledged.uuid);
      case 'SHUTDOWN_FRAMEWORK':
        for (const [id, task] of this.tasks)
          if (task.framework_id === event.shutdown_framework.framework_id.value) void this.kill(id, 0);
        return;
      case 'PING':
        return;
      case 'CHECKPOINT_RESOURCES':
        return void this.volumes
          .update(event.checkpoint_resources.resources)
          .catch((err: unknown) =>
            this.logger.error({ err: describeError(err) }, 'checkpointing resources failed'),
          );
    }
  }

  private async launch(frameworkId: string, frameworkInfo: FrameworkInfo, info: TaskInfo): Promise<void> {
    const id = info.task_id.value;
    if (this.tasks.has(id)) return;
    const now = this.clock.now();
    this.logger.debug({ task: id }, 'launching');
    const status: TaskStatus = {
      task_id: info.task_id,
      agent_id: info.agent_id,
      state: 'TASK_STAGING',
      source: 'SOURCE_AGENT',
      timestamp: now / 1000,
    };
    const task: AgentTask = {
      framework_id: frameworkId,
      framework_info: frameworkInfo,
      task: info,
      sandbox: join(this.sandboxRoot, id),
      status,
      pending: [],
      removed: false,
      launched_at: now,
    };
    this.tasks.set(id, task);
    this.unwritten.add(id);
    const runtime = this.newRuntime(id);
    for (const waiter of [...this.launchWaiters]) waiter(id);
    this.update(id, 'TASK_STARTING');
    try {
      await this.options.containerizer.launch(info, task.sandbox);
    } catch (err) {
      this.logger.warn({ err, task: id }, 'launch failed');
      this.terminal(id, task, runtime, 'TASK_FAILED', {
        message: describeError(err),
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      });
      void this.finalize(id, task, runtime);
      return;
    }
    this.logger.debug({ task: id }, 'task started');
    task.running_at = this.clock.now();
    this.update(id, 'TASK_RUNNING');
    if (runtime.killRequested) void this.options.containerizer.kill(task.task, task.sandbox, 'SIGKILL');
    else this.startChecks(id, task, runtime);
    await this.watch(id, task, runtime);
  }

  private async watch(id: string, task: AgentTask, runtime: Runtime): Promise<void> {
    let status: ExitStatus;
    try {
      status = await this.options.containerizer.wait(task.task, task.sandbox);
    } catch (err) {
      status = { exitCode: null, signal: null, finishedAt: this.clock.now(), message: describeError(err) };
    }
    await this.finish(id, task, runtime, status);
  }

  /**
   * The terminal update goes out as soon as the exit status is known, and the runtime's state and the
   * rootfs mount are released after it: the task's resources are free once its processes are gone, and
   * the unmount (a process of its own) no longer delays the update and the next task's offer.
   */
  private async finish(id: string, task: AgentTask, runtime: Runtime, exit: ExitStatus): Promise<void> {
    this.logger.debug({ task: id }, 'task exited');
    task.cleaned = false;
    const killed = runtime.killRequested;
    const state: TaskState = killed ? 'TASK_KILLED' : exit.exitCode === 0 ? 'TASK_FINISHED' : 'TASK_FAILED';
    const message =
      runtime.unhealthy ??
      exit.message ??
      (exit.signal ? `killed by ${exit.signal}` : `exited with status ${exit.exitCode}`);
    const code = exitCodeOf(exit);
    this.terminal(id, task, runtime, state, {
      message,
      ...(code !== undefined ? { exit_code: code } : {}),
      ...(runtime.unhealthy !== undefined ? { healthy: false } : {}),
    });
    await this.cleanup(id, task, runtime);
    this.scheduleRemoval(id, task, runtime);
  }

  private cleanup(id: string, task: AgentTask, runtime: Runtime): Promise<void> {
    runtime.cleaning ??= this.options.containerizer.cleanup(task.task, task.sandbox).then(() => {
      task.cleaned = true;
      this.persist(id);
    });
    return runtime.cleaning;
  }

  /** An `--rm` sandbox goes once a reader has drained its output, or after a grace period without one. */
  private scheduleRemoval(id: string, task: AgentTask, runtime: Runtime): void {
    if (!wantsSandboxRemoved(task.task)) return;
    this.clock.setTimeout(() => void this.finalize(id, task, runtime), this.options.removeGraceMs ?? 5000);
  }

  private terminal(
    id: string,
    task: AgentTask,
    runtime: Runtime,
    state: TaskState,
    extra: Partial<TaskStatus>,
  ): void {
    runtime.checks?.stop();
    this.update(id, state, extra);
    runtime.markExited();
    this.logger.info({ task: id, state, exit: extra.exit_code }, 'task ended');
  }

  /** For `--rm` tasks: remove the sandbox once, after the task ended. */
  private finalize(id: string, task: AgentTask, runtime: Runtime): Promise<void> {
    if (!wantsSandboxRemoved(task.task)) return Promise.resolve();
    this.logger.debug({ task: id }, 'removing the sandbox');
    runtime.finalizing ??= (runtime.cleaning ?? Promise.resolve())
      .then(() => this.options.containerizer.remove(task.sandbox))
      .then(() => {
        task.removed = true;
        this.persist(id);
      });
    return runtime.finalizing;
  }

  private async kill(id: string, graceSeconds: number): Promise<void> {
    const task = this.tasks.get(id);
    const runtime = this.runtimes.get(id);
    if (!task || !runtime || isTerminal(task.status.state)) return;
    runtime.killRequested = true;
    runtime.checks?.stop();
    if (task.status.state !== 'TASK_RUNNING') return;
    await this.options.containerizer.kill(task.task, task.sandbox, graceSeconds > 0 ? 'SIGTERM' : 'SIGKILL');
    if (graceSeconds <= 0) return;
    const timer = this.clock.setTimeout(
      () => void this.options.containerizer.kill(task.task, task.sandbox, 'SIGKILL'),
      graceSeconds * 1000,
    );
    void runtime.exited.then(() => this.clock.clearTimeout(timer));
  }

  /** The task's output; with `follow`, until the task has ended. The last record is the final status. */
  async *output(
    taskId: string,
    options: { follow: boolean; signal?: AbortSignal },
  ): AsyncGenerator<OutputRecord> {
    const task = this.tasks.get(taskId) ?? (await this.waitForLaunch(taskId, LAUNCH_WAIT_MS));
    const runtime = this.runtimes.get(taskId);
    if (!task) throw new AgentTaskNotFoundError(taskId);
    if (task.removed) throw new SandboxRemovedError(taskId);
    const ended = (): boolean => isTerminal(task.status.state);
    const changed = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          runtime?.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        runtime?.wakers.add(wake);
      });
    for await (const chunk of followOutput({
      sandbox: task.sandbox,
      follow: options.follow,
      signal: options.signal,
      ended,
      changed,
    })) {
      yield { type: 'OUTPUT', stream: chunk.stream, data: chunk.data.toString('base64') };
    }
    if (!ended()) return;
    if (runtime) await this.finalize(taskId, task, runtime);
    yield { type: 'EXITED', status: { ...task.status, uuid: undefined } };
  }

  /** The master may ask for a task's output while its LAUNCH is still on the way here. */
  private waitForLaunch(taskId: string, ms: number): Promise<AgentTask | undefined> {
    return new Promise((resolve) => {
      const waiter = (id: string): void => {
        if (id !== taskId) return;
        clearTimeout(timer);
        this.launchWaiters.delete(waiter);
        resolve(this.tasks.get(taskId));
      };
      const timer = setTimeout(() => {
        this.launchWaiters.delete(waiter);
        resolve(undefined);
      }, ms);
      this.launchWaiters.add(waiter);
    });
  }

  private newRuntime(id: string): Runtime {
    let resolveExited!: () => void;
    const exited = new Promise<void>((resolve) => (resolveExited = resolve));
    const wakers = new Set<() => void>();
    const markExited = (): void => {
      resolveExited();
      for (const wake of [...wakers]) wake();
    };
    const runtime: Runtime = { exited, markExited, wakers, killRequested: false };
    this.runtimes.set(id, runtime);
    return runtime;
  }

  private update(id: string, state: TaskState, extra: Partial<TaskStatus> = {}): void {
    const task = this.tasks.get(id);
    // A stopped agent records nothing more: the next one recovers what happened from the supervisors.
    if (!task || this.stopping) return;
    this.updates.enqueue(id, {
      task_id: task.task.task_id,
      agent_id: task.task.agent_id,
      state,
      source: 'SOURCE_AGENT',
      timestamp: this.clock.now() / 1000,
      // The last health verdict and check result ride along on later updates, as in Mesos.
      ...(task.status.healthy !== undefined ? { healthy: task.status.healthy } : {}),
      ...(task.status.check_status ? { check_status: task.status.check_status } : {}),
      ...extra,
    });
  }

  /**
   * Runs the task's health and readiness checks while it runs. Each change of a result is a TASK_RUNNING
   * update; too many health check failures kill the task (TASK_KILLED, `healthy: false`).
   */
  private startChecks(id: string, task: AgentTask, runtime: Runtime): void {
    if (!task.task.health_check && !task.task.check) return;
    const exec = this.options.containerizer.exec?.bind(this.options.containerizer);
    const stillRunning = (): boolean => task.status.state === 'TASK_RUNNING' && !runtime.killRequested;
    runtime.checks = this.checker.start(
      {
        task: task.task,
        startedAt: task.running_at ?? task.launched_at,
        ...(task.status.healthy !== undefined ? { lastHealthy: task.status.healthy } : {}),
        ...(task.status.check_status ? { lastCheckStatus: task.status.check_status } : {}),
        ...(exec ? { exec: (command, timeoutMs) => exec(task.task, task.sandbox, command, timeoutMs) } : {}),
      },
      {
        healthChanged: (healthy) => {
          if (!stillRunning()) return;
          this.update(id, 'TASK_RUNNING', { healthy, reason: REASON_TASK_HEALTH_CHECK_STATUS_UPDATED });
        },
        checkChanged: (status: CheckStatusInfo) => {
          if (!stillRunning()) return;
          this.update(id, 'TASK_RUNNING', { check_status: status, reason: REASON_TASK_CHECK_STATUS_UPDATED });
        },
        unhealthy: (message) => {
          if (!stillRunning()) return;
          this.logger.info({ task: id, message }, 'killing an unhealthy task');
          runtime.unhealthy = message;
          const nanos = task.task.kill_policy?.grace_period.nanoseconds;
          void this.kill(id, nanos !== undefined ? nanos / 1e9 : HEALTH_KILL_GRACE_SECONDS);
        },
      },
    );
  }

  private sendUpdate(frameworkId: string, status: TaskStatus): Promise<void> | undefined {
    const streamId = this.streamId;
    if (!streamId || !this.agentId) return undefined;
    return this.options.link
      .call(streamId, {
        type: 'UPDATE',
        agent_id: { value: this.agentId },
        update: { framework_id: { value: frameworkId }, status },
      })
      .catch((err: unknown) =>
        this.logger.warn({ err: describeError(err) }, 'sending a status update failed; it will be retried'),
      );
  }

  /**
   * Checkpoints a task. One writer writes the newest state of every changed task, one batch after the
   * other: two writes of one key in flight at once could land in either order on a remote store (etcd
   * serves concurrent requests concurrently), and an older RUNNING over a newer FINISHED would make the
   * task LOST after a restart.
   */
  private persist(taskId: string): void {
    if (!this.tasks.has(taskId) || this.stopping) return;
    this.dirty.add(taskId);
    this.checkpointing ??= this.writeCheckpoints().finally(() => (this.checkpointing = undefined));
  }

  private async writeCheckpoints(): Promise<void> {
    // The changes of this turn go in one batch. In-process links deliver on microtasks, so a task's
    // STARTING, RUNNING and both acknowledgements often land in one turn: wait for its end, not a microtask.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.dirty.size > 0) {
      const ops: Array<{ op: 'put'; key: string; value: unknown }> = [];
      for (const id of this.dirty) {
        if (ops.length >= CHECKPOINT_BATCH) break;
        this.dirty.delete(id);
        const task = this.tasks.get(id);
        if (!task) continue;
        if (this.unwritten.delete(id)) ops.push({ op: 'put', key: TASKS + id, value: unchanging(task) });
        ops.push({ op: 'put', key: TASK_STATE + id, value: changing(task) });
      }
      await this.options.store
        .apply(ops)
        .catch((err: unknown) => this.logger.error({ err, writes: ops.length }, 'checkpoint failed'));
    }
  }
}

function unchanging(task: AgentTask): Omit<AgentTask, keyof MutableTaskFields> {
  const { framework_id, framework_info, task: info, sandbox, launched_at } = task;
  return { framework_id, framework_info, task: info, sandbox, launched_at };
}

function changing(task: AgentTask): MutableTaskFields {
  const { status, pending, running_at, removed, cleaned } = task;
  return {
    status,
    pending,
    removed,
    ...(running_at !== undefined ? { running_at } : {}),
    ...(cleaned !== undefined ? { cleaned } : {}),
  };
}

/** The exit code as a shell reports it: the process's own, or 128 + N when signal N ended it. */
function exitCodeOf(exit: ExitStatus): number | undefined {
  if (exit.exitCode !== null) return exit.exitCode;
  const signal = exit.signal
    ? osConstants.signals[exit.signal as keyof typeof osConstants.signals]
    : undefined;
  return signal !== undefined ? 128 + signal : undefined;
}
