/**
 * Dense scalar quantities for the hot path of an allocation cycle. A `Dims` numbers the scalar names
 * seen in one cycle (cpus → 0, mem → 1, …); a `Vec` holds milli-units by that number, so sums, shares
 * and caps are loops over a handful of numbers instead of map lookups. Values are integers, hence exact.
 */
import { fromMilli, isUnreserved, toMilli, type Resource } from '../../core/resources.js';
import type { Quantities, ReadonlyQuantities } from './quantities.js';

export type Vec = number[];
export type ReadonlyVec = readonly number[];

/**
 * The slots of one cycle. Names are registered first, then `freeze()`: every vector has the same
 * length afterwards, and scalars of names never registered are ignored (they have no total to share).
 */
export class Dims {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  private frozen = false;
  /**
   * Every vector is a copy of this one, so all of them are plain arrays of doubles (one V8 elements
   * kind): small typed arrays cost far more to allocate, and mixing kinds makes the hot path polymorphic.
   */
  private template: number[] = [];

  constructor(names: Iterable<string> = []) {
    for (const name of names) this.register(name);
  }

  register(name: string): void {
    if (this.frozen || this.index.has(name)) return;
    this.index.set(name, this.names.length);
    this.names.push(name);
  }

  freeze(): this {
    this.frozen = true;
    this.template = this.names.map(() => 0.5).fill(0);
    return this;
  }

  /** The slot of a name, or -1 when it was never registered. */
  find(name: string): number {
    return this.index.get(name) ?? -1;
  }

  zero(fill = 0): Vec {
    if (!this.frozen) this.freeze();
    const v = this.template.slice();
    return fill === 0 ? v : v.fill(fill);
  }

  /** A map as a vector; registered names missing from the map get `absent` (Infinity: "no limit"). */
  fromMap(q: ReadonlyQuantities, absent = 0): Vec {
    const v = this.zero(absent);
    for (const [name, value] of q) {
      const i = this.find(name);
      if (i >= 0) v[i] = value;
    }
    return v;
  }

  toMap(v: ReadonlyVec): Quantities {
    const out: Quantities = new Map();
    for (let i = 0; i < v.length; i++) if (v[i]! > 0 && v[i]! !== Infinity) out.set(this.names[i]!, v[i]!);
    return out;
  }

  /** Scalar sums of `resources`: all of them, and the unreserved part (the same vector when equal). */
  sums(resources: readonly Resource[]): { all: Vec; unreserved: Vec } {
    const all = this.zero();
    let unreserved: Vec | undefined;
    for (const r of resources) {
      if (r.type !== 'SCALAR') continue;
      const i = this.find(r.name);
      const value = toMilli(r.scalar?.value ?? 0);
      if (i < 0 || value <= 0) continue;
      const reserved = !isUnreserved(r);
      // Until the first reserved scalar, everything so far is unreserved.
      if (reserved && !unreserved) unreserved = all.slice();
      all[i] = all[i]! + value;
      if (!reserved && unreserved) unreserved[i] = unreserved[i]! + value;
    }
    return { all, unreserved: unreserved ?? all };
  }
}

/** `into += sign * delta`, in place. */
export function addVec(into: Vec, delta: ReadonlyVec, sign: 1 | -1 = 1): Vec {
  for (let i = 0; i < delta.length; i++) into[i] = into[i]! + sign * delta[i]!;
  return into;
}

/** `a - b`, at least zero. */
export function minusVec(a: ReadonlyVec, b: ReadonlyVec): Vec {
  const out = a.slice();
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, out[i]! - b[i]!);
  return out;
}

/** Element-wise minimum, in place on `into`. */
export function capVec(into: Vec, cap: ReadonlyVec): Vec {
  for (let i = 0; i < into.length; i++) if (cap[i]! < into[i]!) into[i] = cap[i]!;
  return into;
}

export function isZeroVec(v: ReadonlyVec): boolean {
  for (let i = 0; i < v.length; i++) if (v[i]! > 0) return false;
  return true;
}

export function containsVec(have: ReadonlyVec, need: ReadonlyVec): boolean {
  for (let i = 0; i < need.length; i++) if (have[i]! < need[i]!) return false;
  return true;
}

/**
 * Weighted dominant share: max over slots of allocated/total, divided by the weight. It divides (rather
 * than multiplying by inverses) so that equal fractions compare equal and ties fall to the id.
 */
export function shareOf(allocated: ReadonlyVec, totals: ReadonlyVec, weight: number): number {
  let share = 0;
  const n = Math.min(allocated.length, totals.length);
  for (let i = 0; i < n; i++) {
    const t = totals[i]!;
    if (t <= 0) continue;
    const s = allocated[i]! / t;
    if (s > share) share = s;
  }
  return share / (weight > 0 ? weight : 1);
}

/**
 * Splits scalar resources into what fits in `target` and the rest (Mesos's `shrinkResources`);
 * non-scalars and names without a slot count as `absent` (Infinity keeps them, 0 drops them). Volumes
 * are atomic: taken whole or not at all.
 */
export function splitByVec(
  resources: readonly Resource[],
  target: ReadonlyVec,
  dims: Dims,
  absent: number,
): { taken: Resource[]; rest: Resource[] } {
  const left = target.slice();
  const taken: Resource[] = [];
  const rest: Resource[] = [];
  for (const r of resources) {
    const i = r.type === 'SCALAR' ? dims.find(r.name) : -1;
    const cap = i >= 0 ? left[i]! : absent;
    if (cap === Infinity) {
      taken.push(r);
      continue;
    }
    const have = toMilli(r.scalar?.value ?? 0);
    const take = r.disk?.persistence ? (have <= cap ? have : 0) : Math.min(have, cap);
    if (i >= 0 && take > 0) left[i] = cap - take;
    if (take === have && take > 0) taken.push(r);
    else if (take <= 0) rest.push(r);
    else {
      taken.push({ ...r, scalar: { value: fromMilli(take) } });
      rest.push({ ...r, scalar: { value: fromMilli(have - take) } });
    }
  }
  return { taken, rest };
}
