/**
 * Quota bookkeeping for one allocation cycle (Mesos 1.9+ semantics).
 *
 * - A role's consumed quota = the reservations of its subtree + the unreserved resources offered or
 *   allocated to its subtree. Reservations count whether or not they are in use.
 * - Guarantees: a role below its guarantee is served first (stage 1). Required headroom = the sum over
 *   the top-most guaranteed roles of (guarantee - consumed); unreserved resources are held back from
 *   everyone else so that the available headroom (unallocated unreserved resources on active agents)
 *   never drops below it.
 * - Limits: a role's consumed quota, and that of each ancestor with a limit, never exceeds the limit.
 */
import { isEmptyQuantities, type ReadonlyQuantities } from './quantities.js';
import { addVec, capVec, isZeroVec, minusVec, type Dims, type ReadonlyVec, type Vec } from './vector.js';

export interface Quota {
  /** Absent names: no guarantee. */
  guarantees: ReadonlyQuantities;
  /** Absent names: no limit. */
  limits: ReadonlyQuantities;
}

/** `a/b/c` → `['a', 'a/b', 'a/b/c']`. */
export function rolePrefixes(role: string): string[] {
  const parts = role.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

interface QuotaState {
  guarantees: Vec;
  /** Infinity where there is no limit; undefined when the role has no limit at all. */
  limits: Vec | undefined;
  consumed: Vec;
  /** A guaranteed role with no guaranteed ancestor: its gap counts in the required headroom. */
  top: boolean;
}

export class QuotaTracker {
  private readonly states = new Map<string, QuotaState>();
  private readonly chains = new Map<string, QuotaState[]>();
  readonly required: Vec;
  readonly available: Vec;

  /**
   * @param reserved role → quantities reserved to exactly that role.
   * @param unreserved [role, unreserved quantities offered or allocated to exactly that role] pairs.
   */
  constructor(
    quotas: ReadonlyMap<string, Quota>,
    reserved: ReadonlyMap<string, ReadonlyVec>,
    unreserved: Iterable<readonly [string, ReadonlyVec]>,
    private readonly dims: Dims,
  ) {
    for (const [role, q] of quotas) {
      const limits = q.limits.size > 0 ? dims.fromMap(q.limits, Infinity) : undefined;
      this.states.set(role, {
        guarantees: dims.fromMap(q.guarantees),
        limits,
        consumed: dims.zero(),
        top: false,
      });
    }
    this.required = dims.zero();
    this.available = dims.zero();
    for (const [role, q] of reserved) for (const s of this.chain(role)) addVec(s.consumed, q);
    for (const [role, q] of unreserved) for (const s of this.chain(role)) addVec(s.consumed, q);
    for (const [role, q] of quotas) {
      if (isEmptyQuantities(q.guarantees)) continue;
      const ancestors = rolePrefixes(role).slice(0, -1);
      if (ancestors.some((a) => !isEmptyQuantities(quotas.get(a)?.guarantees ?? new Map()))) continue;
      const state = this.states.get(role)!;
      state.top = true;
      addVec(this.required, minusVec(state.guarantees, state.consumed));
    }
  }

  get any(): boolean {
    return this.states.size > 0;
  }

  /** Whether some unreserved resources must be held back for unsatisfied guarantees. */
  get holdsHeadroom(): boolean {
    return !isZeroVec(this.required);
  }

  /** What the role still needs to meet its own guarantee (zeros when none). */
  unsatisfied(role: string): Vec {
    const s = this.states.get(role);
    return s ? minusVec(s.guarantees, s.consumed) : this.dims.zero();
  }

  /** Whether the role or one of its ancestors has a limit. */
  limits(role: string): boolean {
    return this.chain(role).some((s) => s.limits !== undefined);
  }

  /**
   * How much more unreserved the role may take before it or an ancestor reaches its limit, after
   * `pending` more (Infinity = unlimited); undefined when nothing limits it.
   */
  limitGap(role: string, pending?: ReadonlyVec): Vec | undefined {
    let gap: Vec | undefined;
    for (const s of this.chain(role)) {
      if (!s.limits) continue;
      const left = minusVec(s.limits, s.consumed);
      if (pending) for (let i = 0; i < left.length; i++) left[i] = Math.max(0, left[i]! - pending[i]!);
      gap = capVec(gap ?? this.dims.zero(Infinity), left);
    }
    return gap;
  }

  /** Unreserved resources that may go to anyone without eating into required headroom. */
  surplusHeadroom(): Vec {
    return minusVec(this.available, this.required);
  }

  /**
   * Caps `out` in place by what the role may still take before it or an ancestor reaches its limit
   * and, while headroom is held, by the surplus headroom: a bound on the unreserved resources it may
   * be offered now. Allocates nothing (the hot path's quick check).
   */
  capUnreserved(role: string, out: Vec): Vec {
    for (const s of this.chain(role)) {
      const limits = s.limits;
      if (!limits) continue;
      for (let i = 0; i < out.length; i++) {
        const left = Math.max(0, limits[i]! - s.consumed[i]!);
        if (left < out[i]!) out[i] = left;
      }
    }
    if (this.holdsHeadroom)
      for (let i = 0; i < out.length; i++) {
        const left = Math.max(0, this.available[i]! - this.required[i]!);
        if (left < out[i]!) out[i] = left;
      }
    return out;
  }

  /** Records `q` more unreserved resources offered to `role`. */
  charge(role: string, q: ReadonlyVec): void {
    // In place (once per decision): required -= gap before, consumed += q, required += gap after.
    const required = this.required;
    for (const s of this.chain(role)) {
      const { guarantees, consumed, top } = s;
      for (let i = 0; i < q.length; i++) {
        if (top) required[i] = required[i]! - Math.max(0, guarantees[i]! - consumed[i]!);
        consumed[i] = consumed[i]! + q[i]!;
        if (top) required[i] = required[i]! + Math.max(0, guarantees[i]! - consumed[i]!);
      }
    }
    for (let i = 0; i < q.length; i++) this.available[i] = Math.max(0, this.available[i]! - q[i]!);
  }

  /** The quota states among the role and its ancestors. */
  private chain(role: string): QuotaState[] {
    let chain = this.chains.get(role);
    if (!chain) {
      chain = rolePrefixes(role)
        .map((r) => this.states.get(r))
        .filter((s): s is QuotaState => s !== undefined);
      this.chains.set(role, chain);
    }
    return chain;
  }
}
