/**
 * Fixture factories for allocator tests and the benchmark: complete, valid inputs with defaults.
 */
import { addResources, parseResources, type Resource } from '../../core/resources.js';
import type {
  AllocationAgent,
  AllocationFramework,
  AllocationInput,
  OfferFilter,
  RoleAllocation,
} from './compute-allocation.js';
import { addInto, quantitiesOf, type Quantities } from './quantities.js';

export function mockAgent(
  id: string,
  available: string | Resource[],
  extra: Partial<AllocationAgent> = {},
): AllocationAgent {
  return {
    id,
    available: typeof available === 'string' ? parseResources(available) : available,
    active: true,
    ...extra,
  };
}

export interface MockFramework extends AllocationFramework {
  /** What it holds, as resources, for building totals. */
  readonly held: ReadonlyMap<string, readonly Resource[]>;
}

export function mockFramework(
  id: string,
  roles: string | string[],
  extra: {
    held?: Record<string, string | Resource[]>;
    suppressedRoles?: string[];
    active?: boolean;
    capabilities?: string[];
    filters?: Array<{ role: string; agentId: string; filter: OfferFilter }>;
  } = {},
): MockFramework {
  const held = new Map<string, Resource[]>();
  const allocated = new Map<string, RoleAllocation>();
  for (const [role, list] of Object.entries(extra.held ?? {})) {
    const resources = typeof list === 'string' ? parseResources(list) : list;
    held.set(role, resources);
    allocated.set(role, { all: quantitiesOf(resources), unreserved: quantitiesOf(resources, true) });
  }
  const filters = new Map<string, Map<string, OfferFilter[]>>();
  for (const { role, agentId, filter } of extra.filters ?? []) {
    const byAgent = filters.get(role) ?? new Map<string, OfferFilter[]>();
    byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), filter]);
    filters.set(role, byAgent);
  }
  return {
    id,
    roles: typeof roles === 'string' ? [roles] : roles,
    active: extra.active ?? true,
    suppressedRoles: new Set(extra.suppressedRoles ?? []),
    capabilities: new Set(extra.capabilities ?? []),
    allocated,
    filters,
    held,
  };
}

/** An input whose totals are what the agents have free plus what the frameworks hold. */
export function mockInput(
  agents: AllocationAgent[],
  frameworks: MockFramework[],
  extra: Partial<AllocationInput> = {},
): AllocationInput {
  let all: Resource[] = [];
  for (const a of agents) all = addResources(all, a.available);
  for (const f of frameworks) for (const list of f.held.values()) all = addResources(all, list);
  const reserved = new Map<string, Quantities>();
  for (const r of all) {
    if (r.type !== 'SCALAR' || (r.role ?? '*') === '*') continue;
    reserved.set(r.role!, addInto(reserved.get(r.role!) ?? new Map(), quantitiesOf([r])));
  }
  return { now: 0, agents, frameworks, roles: new Map(), totals: quantitiesOf(all), reserved, ...extra };
}
