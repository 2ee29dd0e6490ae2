/**
 * Weighted Dominant Resource Fairness: a client's share is the largest fraction it holds of any
 * resource in the pool, divided by its weight. Clients with the smallest share go first.
 */
import { scalarOf, type Resource } from '../../../core/resources.js';

export interface SortClient {
  id: string;
  allocated: readonly Resource[];
  weight: number;
}

const FAIR_RESOURCES = ['cpus', 'mem', 'disk', 'gpus'] as const;

export function computeShare(
  allocated: readonly Resource[],
  totals: readonly Resource[],
  weight = 1,
): number {
  let share = 0;
  for (const name of FAIR_RESOURCES) {
    const total = scalarOf(totals, name);
    if (total > 0) share = Math.max(share, scalarOf(allocated, name) / total);
  }
  return share / (weight > 0 ? weight : 1);
}

/** Client ids in DRF order: smallest weighted dominant share first, ties broken by id. */
export function sortByDrf(clients: readonly SortClient[], totals: readonly Resource[]): string[] {
  return clients
    .map((c) => ({ id: c.id, share: computeShare(c.allocated, totals, c.weight) }))
    .sort((a, b) => a.share - b.share || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c) => c.id);
}
