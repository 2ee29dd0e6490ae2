/**
 * Which ended tasks and torn-down frameworks the master forgets, so that a long-running cluster does not
 * grow without bound (the same limits as Mesos's `--max_completed_tasks_per_framework` and
 * `--max_completed_frameworks`). Pure: the master core applies the plan to its task book and its store.
 *
 * A task is *completed* once it is terminal and its terminal update needs no more delivery: the framework
 * acknowledged it, it carries no uuid (the master made it, nobody acknowledges it), the framework is gone
 * (torn down), or the agent that would resend it was removed. A terminal task still waiting for its
 * acknowledgement is never forgotten, so the at-least-once delivery of updates is not cut short.
 */
import { isTerminal } from '../api/mesos.js';
import type { FrameworkRecord, TaskRecord } from './types.js';

export interface CompletedBounds {
  /** Completed tasks kept per framework, the newest ones (Mesos's default 1000). */
  maxTasksPerFramework: number;
  /** Torn-down frameworks kept, with their completed tasks (Mesos's default 50). */
  maxFrameworks: number;
}

export const DEFAULT_COMPLETED_BOUNDS: Readonly<CompletedBounds> = {
  maxTasksPerFramework: 1000,
  maxFrameworks: 50,
};

/** A torn-down framework the master still remembers, under `master/completed-frameworks/<id>`. */
export interface CompletedFrameworkRecord extends FrameworkRecord {
  unregistered_at: number;
}

/** Whether the task may be forgotten (see the top of this file). */
export function isCompleted(
  task: TaskRecord,
  context: { frameworkActive: boolean; agentRemoved: boolean },
): boolean {
  if (!isTerminal(task.status.state)) return false;
  return (
    task.status.uuid === undefined ||
    task.acknowledged === task.status.uuid ||
    !context.frameworkActive ||
    context.agentRemoved
  );
}

export interface PruneInput {
  /** How many completed tasks each framework has (only the frameworks to look at). */
  completed: ReadonlyMap<string, number>;
  /** A framework subscribed now or waiting for its failover (not torn down). */
  isActive: (frameworkId: string) => boolean;
  /** The torn-down frameworks remembered, the oldest teardown first. */
  removed: readonly string[];
}

export interface PrunePlan {
  /** Torn-down frameworks to forget. */
  frameworks: string[];
  /** Per framework, how many of its oldest completed tasks to forget. */
  tasks: Map<string, number>;
}

/**
 * Keeps the newest `maxFrameworks` torn-down frameworks and, per framework, the newest
 * `maxTasksPerFramework` completed tasks. A framework neither active nor remembered keeps none.
 */
export function computePrune(input: PruneInput, bounds: CompletedBounds): PrunePlan {
  const excess = Math.max(0, input.removed.length - Math.max(0, bounds.maxFrameworks));
  const frameworks = input.removed.slice(0, excess).filter((id) => !input.isActive(id));
  const kept = new Set(input.removed.slice(excess));
  const tasks = new Map<string, number>();
  for (const [frameworkId, count] of input.completed) {
    const keep =
      input.isActive(frameworkId) || kept.has(frameworkId) ? Math.max(0, bounds.maxTasksPerFramework) : 0;
    if (count > keep) tasks.set(frameworkId, count - keep);
  }
  return { frameworks, tasks };
}
