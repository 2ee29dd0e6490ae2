/**
 * Scalar quantities (Mesos's `ResourceQuantities`): resource name → amount in milli-units, integers only,
 * so running sums of thousands of allocations stay exact. Used for DRF shares, quota consumption and
 * headroom, where reservations and ranges do not matter. Absent names are zero.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { isUnreserved, toMilli, type Resource } from '../../core/resources.js';

export type Quantities = Map<string, number>;
export type ReadonlyQuantities = ReadonlyMap<string, number>;

/** The scalar quantities in `resources`; with `unreservedOnly`, just the unreserved ones. */
export function quantitiesOf(resources: readonly Resource[], unreservedOnly = false): Quantities {
  const out: Quantities = new Map();
  for (const r of resources) {
    if (r.type !== 'SCALAR' || (unreservedOnly && !isUnreserved(r))) continue;
    const v = toMilli(r.scalar?.value ?? 0);
    if (v > 0) out.set(r.name, (out.get(r.name) ?? 0) + v);
  }
  return out;
}

/** `into += sign * q`, in place; names that fall to zero are removed. */
export function addInto(into: Quantities, q: ReadonlyQuantities, sign: 1 | -1 = 1): Quantities {
  for (const [name, v] of q) {
    const next = (into.get(name) ?? 0) + sign * v;
    if (next === 0) into.delete(name);
    else into.set(name, next);
  }
  return into;
}

export const isEmptyQuantities = (q: ReadonlyQuantities): boolean => {
  for (const v of q.values()) if (v > 0) return false;
  return true;
};

/** Whether `have` holds at least `need` of every name. */
export function containsQuantities(have: ReadonlyQuantities, need: ReadonlyQuantities): boolean {
  for (const [name, v] of need) if ((have.get(name) ?? 0) < v) return false;
  return true;
}

/** `{ cpus: 2, mem: 1024 }` → quantities. Negative or non-finite amounts are rejected. */
export function quantitiesFrom(record: Readonly<Record<string, number>> | undefined): Quantities {
  const out: Quantities = new Map();
  for (const [name, v] of Object.entries(record ?? {})) {
    if (!Number.isFinite(v) || v < 0)
      throw new InvalidArgumentError(`quantity of "${name}" must be a number ≥ 0, e.g. { cpus: 2 }`);
    const milli = toMilli(v);
    if (milli > 0) out.set(name, milli);
  }
  return out;
}

/**
 * Weighted dominant share: the largest fraction of the cluster total the client holds of any scalar,
 * divided by its weight (Mesos's `calculateShare`).
 */
export function dominantShare(allocated: ReadonlyQuantities, totals: ReadonlyQuantities, weight = 1): number {
  let share = 0;
  for (const [name, v] of allocated) {
    const total = totals.get(name);
    if (total !== undefined && total > 0) {
      const s = v / total;
      if (s > share) share = s;
    }
  }
  return share / (weight > 0 ? weight : 1);
}
