/**
 * Reliable status updates: each task's updates form an ordered stream. The oldest unacknowledged update
 * is sent, and resent with backoff until the framework's acknowledgement comes back through the master;
 * then the next one goes. Each update and acknowledgement asks for a checkpoint (`persist`) before the
 * update is sent; the agent writes a turn's checkpoints together at the end of the turn, so a task's
 * STARTING, RUNNING and their acknowledgements usually cost one write. A send that returns a promise
 * arms its resend timer only once it settles, so a slow link never carries an update twice at once.
 */
import { randomUUID } from 'node:crypto';
import type { TaskStatus } from '../api/mesos.js';
import type { Clock, Timer } from '../core/clock.js';
import type { AgentTask } from './types.js';

export interface StatusUpdateManagerOptions {
  clock: Clock;
  tasks: ReadonlyMap<string, AgentTask>;
  persist: (taskId: string) => void;
  /**
   * Sends an update to the master. When it returns a promise, the retry timer starts once that settles:
   * an update still queued on a slow connection is not sent again behind itself.
   */
  send: (frameworkId: string, status: TaskStatus) => void | Promise<void>;
  retryMs?: number;
  maxRetryMs?: number;
}

export class StatusUpdateManager {
  /** Per task with an update in flight: its resend timer, armed once the send has settled. */
  private readonly retries = new Map<string, { timer?: Timer }>();

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
    const retry: { timer?: Timer } = {};
    this.retries.set(taskId, retry);
    const next = Math.min(delay * 2, this.options.maxRetryMs ?? 600_000);
    const arm = (): void => {
      if (this.retries.get(taskId) !== retry) return; // acknowledged, resent or stopped meanwhile
      retry.timer = this.options.clock.setTimeout(() => this.sendHead(taskId, next), delay);
    };
    const sent = this.options.send(task.framework_id, head);
    if (sent instanceof Promise) sent.then(arm, arm);
    else arm();
  }

  private cancelRetry(taskId: string): void {
    const retry = this.retries.get(taskId);
    if (retry?.timer) this.options.clock.clearTimeout(retry.timer);
    this.retries.delete(taskId);
  }
}
