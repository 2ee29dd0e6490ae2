/**
 * The master's tasks, indexed and watched: every task record passes through `set`, which wakes anyone
 * waiting for that task. Reads for the operator API (find by id, suffix or name; list) live here too.
 */
import { isTerminal } from '../api/mesos.js';
import type { TaskView } from '../api/operator.js';
import type { Resource } from '../core/resources.js';
import { TaskNotFoundError } from './errors.js';
import type { TaskRecord } from './types.js';
import { toTaskView } from './views.js';

export class TaskBook {
  private readonly tasks = new Map<string, TaskRecord>();
  /** Task ids by agent: an agent's (re-)subscription must not scan every task of the cluster. */
  private readonly byAgent = new Map<string, Set<string>>();
  private readonly watchers = new Set<(task: TaskRecord) => void>();
  /** Completed task ids by framework, in the order they completed (see completed.ts). */
  private readonly completed = new Map<string, Set<string>>();

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  has(id: string): boolean {
    return this.tasks.has(id);
  }

  values(): IterableIterator<TaskRecord> {
    return this.tasks.values();
  }

  get size(): number {
    return this.tasks.size;
  }

  set(task: TaskRecord): void {
    const before = this.tasks.get(task.id);
    if (before && before.agent_id !== task.agent_id) this.byAgent.get(before.agent_id)?.delete(task.id);
    this.tasks.set(task.id, task);
    let ids = this.byAgent.get(task.agent_id);
    if (!ids) this.byAgent.set(task.agent_id, (ids = new Set()));
    ids.add(task.id);
    if (!isTerminal(task.status.state)) this.completed.get(task.framework_id)?.delete(task.id);
    for (const watcher of [...this.watchers]) watcher(task);
  }

  /** The task is completed: it may be forgotten once its framework has too many newer completed ones. */
  markCompleted(task: TaskRecord): void {
    if (!this.tasks.has(task.id)) return;
    let ids = this.completed.get(task.framework_id);
    if (!ids) this.completed.set(task.framework_id, (ids = new Set()));
    ids.add(task.id);
  }

  /** How many completed tasks each framework has (or only the named ones). */
  completedCounts(frameworkIds?: Iterable<string>): Map<string, number> {
    const ids = frameworkIds ?? this.completed.keys();
    return new Map([...ids].map((id) => [id, this.completed.get(id)?.size ?? 0]));
  }

  /** Forgets the framework's `count` oldest completed tasks; returns their ids. */
  dropOldestCompleted(frameworkId: string, count: number): string[] {
    const ids = this.completed.get(frameworkId);
    const dropped: string[] = [];
    if (!ids) return dropped;
    for (const id of ids) {
      if (dropped.length >= count) break;
      dropped.push(id);
    }
    for (const id of dropped) this.delete(id);
    return dropped;
  }

  /** Forgets a task. */
  delete(id: string): void {
    const task = this.tasks.get(id);
    if (!task) return;
    this.tasks.delete(id);
    const onAgent = this.byAgent.get(task.agent_id);
    onAgent?.delete(id);
    if (onAgent?.size === 0) this.byAgent.delete(task.agent_id);
    const completed = this.completed.get(task.framework_id);
    completed?.delete(id);
    if (completed?.size === 0) this.completed.delete(task.framework_id);
  }

  /** Every task the master placed on (or learned from) an agent, terminal ones included; a copy. */
  onAgent(agentId: string): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const id of this.byAgent.get(agentId) ?? []) {
      const task = this.tasks.get(id);
      if (task) out.push(task);
    }
    return out;
  }

  /** Non-terminal tasks on an agent. */
  activeOn(agentId: string): TaskRecord[] {
    return this.onAgent(agentId).filter((t) => !isTerminal(t.status.state));
  }

  usedOn(agentId: string): Resource[] {
    return this.activeOn(agentId).flatMap((t) => t.task.resources as Resource[]);
  }

  list(options: { all: boolean }): TaskView[] {
    return [...this.tasks.values()]
      .filter((t) => options.all || !isTerminal(t.status.state))
      .map(toTaskView)
      .sort((a, b) => b.created_at - a.created_at);
  }

  /** By id, by a unique id prefix or suffix, or by name (the newest task of that name). */
  find(ref: string): TaskRecord {
    const exact = this.tasks.get(ref);
    if (exact) return exact;
    const matches = [...this.tasks.values()].filter(
      (t) => t.id.endsWith(ref) || t.id.startsWith(ref) || t.task.name === ref,
    );
    matches.sort((a, b) => b.created_at - a.created_at);
    const first = matches[0];
    if (!first) throw new TaskNotFoundError(ref);
    return first;
  }

  /** Resolves with the task once it is known, or undefined after `timeoutMs`. */
  waitFor(taskId: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    const known = this.tasks.get(taskId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const watcher = (task: TaskRecord): void => {
        if (task.id !== taskId) return;
        this.watchers.delete(watcher);
        clearTimeout(timer);
        resolve(task);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        resolve(undefined);
      }, timeoutMs);
      this.watchers.add(watcher);
    });
  }
}
