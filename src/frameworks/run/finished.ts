/**
 * Which ended runs the run framework forgets: like the master's completed tasks (src/master/completed.ts),
 * only the newest `max` finished runs are kept, in memory and in the store. Pending and running ones are
 * always kept.
 */
import { isFinished, type RunTask } from './types.js';

export const DEFAULT_MAX_FINISHED_RUNS = 1000;

/** The ids of the finished runs beyond the newest `max` (newest by when they ended), oldest first. */
export function finishedToForget(tasks: Iterable<RunTask>, max: number): string[] {
  const finished = [...tasks]
    .filter((t) => isFinished(t.state))
    .sort((a, b) => a.updated_at - b.updated_at || a.created_at - b.created_at);
  return finished.slice(0, Math.max(0, finished.length - Math.max(0, max))).map((t) => t.id);
}
