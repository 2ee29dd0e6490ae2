/**
 * The master's persistence: frameworks, agents and tasks under `master/` in the StateStore. Writes are
 * queued, the newest op per key, and written in batches at the end of the event-loop turn, so they never
 * block the caller; `flush()` waits for them. Which completed tasks and frameworks are forgotten is
 * decided in completed.ts; the master deletes them here too, so that a restart does not reload them.
 */
import type { Logger } from '../core/logger.js';
import type { StateStore, StoreOp } from '../store/index.js';
import type { CompletedFrameworkRecord } from './completed.js';
import type { AgentRecord, FrameworkRecord, TaskRecord } from './types.js';

const MAX_BATCH = 100;

const FRAMEWORKS = 'master/frameworks/';
const AGENTS = 'master/agents/';
const TASKS = 'master/tasks/';
const REMOVED_AGENTS = 'master/removed-agents/';
const POLICY = 'master/policy/';
const COMPLETED_FRAMEWORKS = 'master/completed-frameworks/';

export class MasterStateWriter {
  /** Ops not yet written, the newest per key (a task's STAGING, STARTING and RUNNING often share one write). */
  private queue = new Map<string, StoreOp>();
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<{
    frameworks: FrameworkRecord[];
    agents: AgentRecord[];
    tasks: TaskRecord[];
    removedAgents: string[];
    /** Torn-down frameworks still remembered, the oldest teardown first. */
    completedFrameworks: CompletedFrameworkRecord[];
  }> {
    const [frameworks, agents, tasks, removed, completed] = await Promise.all([
      this.store.list<FrameworkRecord>(FRAMEWORKS),
      this.store.list<AgentRecord>(AGENTS),
      this.store.list<TaskRecord>(TASKS),
      this.store.list<number>(REMOVED_AGENTS),
      this.store.list<CompletedFrameworkRecord>(COMPLETED_FRAMEWORKS),
    ]);
    // Task records are used as read (frozen): the master replaces a task's record on every change and
    // never mutates one, and copying 100k of them made a restart seconds slower.
    const taskRecords = tasks.map((e) => e.value as TaskRecord);
    return {
      frameworks: frameworks.map((e) => structuredClone(e.value) as FrameworkRecord),
      agents: agents.map((e) => structuredClone(e.value) as AgentRecord),
      tasks: taskRecords,
      removedAgents: removed.map((e) => e.key.slice(REMOVED_AGENTS.length)),
      completedFrameworks: completed
        .map((e) => structuredClone(e.value) as CompletedFrameworkRecord)
        .sort((a, b) => a.unregistered_at - b.unregistered_at),
    };
  }

  putFramework(record: FrameworkRecord): void {
    this.enqueue({ op: 'put', key: FRAMEWORKS + record.id, value: record });
  }

  deleteFramework(id: string): void {
    this.enqueue({ op: 'delete', key: FRAMEWORKS + id });
  }

  putAgent(record: AgentRecord): void {
    this.enqueue({ op: 'put', key: AGENTS + record.id, value: record });
  }

  /** The agent is forgotten; its id is remembered so that it cannot come back with its old tasks. */
  removeAgent(id: string): void {
    this.enqueue({ op: 'delete', key: AGENTS + id });
    this.enqueue({ op: 'put', key: REMOVED_AGENTS + id, value: Date.now() });
  }

  /** A role's weight or quota; undefined removes it. */
  putPolicy(kind: 'weights' | 'quotas', role: string, value: unknown): void {
    const key = `${POLICY}${kind}/${role}`;
    this.enqueue(value === undefined ? { op: 'delete', key } : { op: 'put', key, value });
  }

  async loadPolicy(): Promise<{ weights: Map<string, number>; quotas: Map<string, unknown> }> {
    const entries = await this.store.list<unknown>(POLICY);
    const weights = new Map<string, number>();
    const quotas = new Map<string, unknown>();
    for (const e of entries) {
      const [kind, ...role] = e.key.slice(POLICY.length).split('/');
      if (kind === 'weights') weights.set(role.join('/'), e.value as number);
      else if (kind === 'quotas') quotas.set(role.join('/'), structuredClone(e.value));
    }
    return { weights, quotas };
  }

  putTask(record: TaskRecord): void {
    this.enqueue({ op: 'put', key: TASKS + record.id, value: record });
  }

  deleteTask(id: string): void {
    this.enqueue({ op: 'delete', key: TASKS + id });
  }

  /** A torn-down framework to remember (its completed tasks stay listed while it is remembered). */
  putCompletedFramework(record: CompletedFrameworkRecord): void {
    this.enqueue({ op: 'put', key: COMPLETED_FRAMEWORKS + record.id, value: record });
  }

  deleteCompletedFramework(id: string): void {
    this.enqueue({ op: 'delete', key: COMPLETED_FRAMEWORKS + id });
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.queue.size > 0 || this.scheduled) {
      this.write();
      await this.writing;
    }
    await this.writing;
  }

  private enqueue(op: StoreOp): void {
    const key = op.op === 'deletePrefix' ? `\0${op.prefix}` : op.key;
    this.queue.delete(key); // a later op on the same key replaces the earlier one, and goes last
    this.queue.set(key, op);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.write());
  }

  private write(): void {
    this.scheduled = false;
    if (this.queue.size === 0) return;
    // etcd refuses transactions of more than 128 operations: write at most MAX_BATCH at a time, in order.
    const batch: StoreOp[] = [];
    for (const [key, op] of this.queue) {
      if (batch.length >= MAX_BATCH) break;
      batch.push(op);
      this.queue.delete(key);
    }
    if (this.queue.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.write());
    }
    this.writing = this.writing
      .then(() => this.store.apply(batch))
      .then(
        () => undefined,
        (err: unknown) => this.logger.error({ err }, 'master state write failed'),
      );
  }
}
