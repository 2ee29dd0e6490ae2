/**
 * The allocator's records and the small pure helpers that keep them: agents (total, free, who holds
 * what), frameworks (roles, suppression, running sums per role, refuse filters).
 */
import {
  containsResources,
  reservedRole,
  scalarOf,
  unallocate,
  type Resource,
} from '../../core/resources.js';
import {
  UNKNOWN_ROLE,
  type AllocationFramework,
  type AvailableSums,
  type OfferFilter,
  type RoleAllocation,
} from './allocation-types.js';
import { addInto, quantitiesOf, type Quantities } from './quantities.js';
import { isZeroVec, type ReadonlyVec } from './vector.js';

export interface AgentEntry {
  readonly id: string;
  total: Resource[];
  available: readonly Resource[];
  /** The scalar sums of `available` (the allocator keeps them with it); none when nothing is free. */
  sums: AvailableSums | undefined;
  active: boolean;
  gpus: boolean;
  /** framework id → role → resources offered or allocated, without `allocation_info`. */
  readonly allocated: Map<string, Map<string, Resource[]>>;
  /** Scalars of `total`, and the reserved ones by role: running sums are kept from these. */
  totalQ: Quantities;
  reservedQ: Map<string, Quantities>;
}

/**
 * What a framework holds in one role: running scalar sums, kept as vectors over the allocator's names
 * (slots past a vector's end are zero), so that recording a decision and starting a cycle need no map
 * lookups. The map forms are built when read.
 */
export class HeldInRole implements RoleAllocation {
  readonly vectors: { readonly all: number[]; readonly unreserved: number[] };

  /**
   * @param names the allocator's scalar names by slot (it only grows).
   * @param zero a zero vector of doubles, copied (so that every vector has one V8 elements kind).
   */
  constructor(
    private readonly names: readonly string[],
    zero: readonly number[],
  ) {
    this.vectors = { all: zero.slice(), unreserved: zero.slice() };
  }

  get all(): Quantities {
    return toQuantities(this.names, this.vectors.all);
  }

  get unreserved(): Quantities {
    return toQuantities(this.names, this.vectors.unreserved);
  }

  /** Adds `sign` times sums over the allocator's names. */
  add(all: ReadonlyVec, unreserved: ReadonlyVec, sign: 1 | -1): void {
    addPadded(this.vectors.all, all, sign);
    addPadded(this.vectors.unreserved, unreserved, sign);
  }

  get empty(): boolean {
    return isZeroVec(this.vectors.all);
  }
}

function addPadded(into: number[], delta: ReadonlyVec, sign: 1 | -1): void {
  while (into.length < delta.length) into.push(0);
  for (let i = 0; i < delta.length; i++) into[i] = into[i]! + sign * delta[i]!;
}

function toQuantities(names: readonly string[], v: ReadonlyVec): Quantities {
  const out: Quantities = new Map();
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) out.set(names[i]!, v[i]!);
  return out;
}

export interface FrameworkEntry extends AllocationFramework {
  roles: string[];
  active: boolean;
  suppressedRoles: Set<string>;
  capabilities: Set<string>;
  readonly allocated: Map<string, HeldInRole>;
  readonly filters: Map<string, Map<string, OfferFilter[]>>;
}

export function newAgent(id: string, active: boolean): AgentEntry {
  const empty = {
    total: [],
    available: [],
    sums: undefined,
    gpus: false,
    totalQ: new Map(),
    reservedQ: new Map(),
  };
  return { id, active, allocated: new Map(), ...empty };
}

/** A framework known only from resources recorded for it: inactive, no roles yet. */
export function newFramework(id: string): FrameworkEntry {
  return {
    id,
    roles: [],
    active: false,
    suppressedRoles: new Set(),
    capabilities: new Set(),
    allocated: new Map(),
    filters: new Map(),
  };
}

/** Everything offered or allocated on the agent. */
export const heldOn = (agent: AgentEntry): Resource[] =>
  [...agent.allocated.values()].flatMap((byRole) => [...byRole.values()].flat());

export function setHeld(agent: AgentEntry, frameworkId: string, role: string, list: Resource[]): void {
  let byRole = agent.allocated.get(frameworkId);
  if (list.length > 0) {
    if (!byRole) agent.allocated.set(frameworkId, (byRole = new Map()));
    byRole.set(role, list);
  } else if (byRole) {
    byRole.delete(role);
    if (byRole.size === 0) agent.allocated.delete(frameworkId);
  }
}

/** The scalar sums of an agent's total: all, and reserved by role. */
export function totalSums(total: readonly Resource[]): {
  totalQ: Quantities;
  reservedQ: Map<string, Quantities>;
} {
  const reservedQ = new Map<string, Quantities>();
  for (const r of total) {
    const role = reservedRole(r);
    if (role === '*' || r.type !== 'SCALAR') continue;
    reservedQ.set(role, addInto(reservedQ.get(role) ?? new Map(), quantitiesOf([r])));
  }
  return { totalQ: quantitiesOf(total), reservedQ };
}

export const hasGpus = (total: readonly Resource[]): boolean => scalarOf(total, 'gpus') > 0;

/**
 * The role resources without `allocation_info` belong to: the role the framework holds resources in
 * on this agent when there is one (or the one holding them all), else its first role.
 */
export function defaultRole(
  f: FrameworkEntry | undefined,
  agent: AgentEntry,
  resources: readonly Resource[],
): string {
  const held = agent.allocated.get(f?.id ?? '');
  if (held) {
    if (held.size === 1) return held.keys().next().value!;
    for (const [role, list] of held) if (containsResources(list, unallocate(resources))) return role;
  }
  return f?.roles[0] ?? UNKNOWN_ROLE;
}

export function addFilter(f: FrameworkEntry, role: string, agentId: string, filter: OfferFilter): void {
  let byAgent = f.filters.get(role);
  if (!byAgent) f.filters.set(role, (byAgent = new Map()));
  byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), filter]);
}

/** Drops the filters that expired by `now`. */
export function pruneFilters(f: FrameworkEntry, now: number): void {
  for (const [role, byAgent] of f.filters) {
    for (const [agentId, list] of byAgent) {
      const live = list.filter((x) => x.until > now);
      if (live.length > 0) byAgent.set(agentId, live);
      else byAgent.delete(agentId);
    }
    if (byAgent.size === 0) f.filters.delete(role);
  }
}
