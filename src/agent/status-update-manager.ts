/**
 * Reliable status updates: each task's updates form an ordered stream. The oldest unacknowledged update
 * is sent, and resent with backoff until the framework's acknowledgement comes back through the master;
 * then the next one goes. Updates are checkpointed before they are sent, so a restart loses none.
 */
import { randomUUID } from 'node:crypto';
import type { TaskStatus } from '../api/mesos.js';
import type { Clock, Timer } from '../core/clock.js';
import type { AgentTask } from './types.js';

export interface StatusUpdateManagerOptions {
  clock: Clock;
  tasks: ReadonlyMap<string, AgentTask>;
  persist: (taskId: string) => void;
  send: (frameworkId: string, status: TaskStatus) => void;
  retryMs?: number;
  maxRetryMs?: number;
}

export class StatusUpdateManager {
  private readonly retries = new Map<string, { timer: Timer; delay: number }>();

  constructor(private readonly options: StatusUpdateManagerOptions) {}

  /** Checkpoints the update and sends it when it is at the head of its task's stream. */
  enqueue(taskId: string, status: Omit<TaskStatus, 'uuid'>): void {
    const task = this.options.tasks.get(taskId);
    if (!task) return;
    const update: TaskStatus = { ...status, uuid: randomUUID() };
    task.status = update;
    task.pending.push(update);
    this.options.persist(taskId);
    if (task.pending.length === 1) this.sendHead(taskId, this.options.retryMs ?? 10_000);
  }

  acknowledge(taskId: string, uuid: string): void {
    const task = this.options.tasks.get(taskId);
    if (!task || task.pending[0]?.uuid !== uuid) return;
    task.pending.shift();
    this.options.persist(taskId);
    this.cancelRetry(taskId);
    if (task.pending.length > 0) this.sendHead(taskId, this.options.retryMs ?? 10_000);
  }

  /** After (re-)subscribing: send every stream's head now. */
  resendAll(): void {
    for (const [taskId, task] of this.options.tasks) {
      this.cancelRetry(taskId);
      if (task.pending.length > 0) this.sendHead(taskId, this.options.retryMs ?? 10_000);
    }
  }

  stop(): void {
    for (const taskId of [...this.retries.keys()]) this.cancelRetry(taskId);
  }

  private sendHead(taskId: string, delay: number): void {
    const task = this.options.tasks.get(taskId);
    const head = task?.pending[0];
    if (!task || !head) return;
    this.options.send(task.framework_id, head);
    const next = Math.min(delay * 2, this.options.maxRetryMs ?? 600_000);
    const timer = this.options.clock.setTimeout(() => this.sendHead(taskId, next), delay);
    this.retries.set(taskId, { timer, delay });
  }

  private cancelRetry(taskId: string): void {
    const retry = this.retries.get(taskId);
    if (retry) this.options.clock.clearTimeout(retry.timer);
    this.retries.delete(taskId);
  }
}
