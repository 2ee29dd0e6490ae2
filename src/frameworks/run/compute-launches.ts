import type { Offer } from '../../api/mesos.js';
import {
  containsResources,
  scalar,
  subtractResources,
  unallocate,
  type Resource,
} from '../../core/resources.js';
import type { RunTask } from './types.js';

export interface LaunchPlan {
  /** offer id → the tasks placed on it, in submission order */
  launches: Map<string, RunTask[]>;
  /** offers nothing was placed on */
  decline: string[];
  /** pending tasks that fit no offer this time */
  unplaced: RunTask[];
}

export const taskResources = (t: RunTask): Resource[] => [scalar('cpus', t.cpus), scalar('mem', t.mem)];

/** First fit, oldest task first: places each pending task on the first offer with room left for it. */
export function computeLaunches(pending: readonly RunTask[], offers: readonly Offer[]): LaunchPlan {
  // Offers carry `allocation_info` (the role they are for); fitting a task ignores it.
  const free = new Map(offers.map((o) => [o.id.value, unallocate(o.resources as Resource[])]));
  const launches = new Map<string, RunTask[]>();
  const unplaced: RunTask[] = [];
  for (const task of pending) {
    const needs = taskResources(task);
    const offer = offers.find((o) => containsResources(free.get(o.id.value) ?? [], needs));
    if (!offer) {
      unplaced.push(task);
      continue;
    }
    free.set(offer.id.value, subtractResources(free.get(offer.id.value) ?? [], needs));
    launches.set(offer.id.value, [...(launches.get(offer.id.value) ?? []), task]);
  }
  return { launches, decline: offers.map((o) => o.id.value).filter((id) => !launches.has(id)), unplaced };
}
