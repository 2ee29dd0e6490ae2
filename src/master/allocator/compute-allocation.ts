/**
 * One allocation cycle as a pure function: given what each agent has free and what each framework holds,
 * decide which framework is offered each agent's free resources. Hierarchical DRF: roles are ordered by
 * their weighted dominant share, then the frameworks inside a role. Each agent's free resources go to one
 * framework per cycle, as Mesos does.
 */
import { addResources, scalarOf, type Resource } from '../../core/resources.js';
import { sortByDrf } from './sorter/drf.js';

export interface AllocationAgent {
  id: string;
  available: readonly Resource[];
}

export interface AllocationFramework {
  id: string;
  role: string;
  allocated: readonly Resource[];
  suppressed: boolean;
  /** Agents this framework declined with a filter that has not expired. */
  filteredAgents: ReadonlySet<string>;
}

export interface AllocationInput {
  agents: readonly AllocationAgent[];
  frameworks: readonly AllocationFramework[];
  totals: readonly Resource[];
  roleWeights: ReadonlyMap<string, number>;
}

export interface AllocationDecision {
  frameworkId: string;
  agentId: string;
  resources: Resource[];
}

/** Mesos's minimum allocatable resources: an offer smaller than this is not worth making. */
export function isAllocatable(resources: readonly Resource[]): boolean {
  return scalarOf(resources, 'cpus') >= 0.01 || scalarOf(resources, 'mem') >= 32;
}

const usableBy = (resources: readonly Resource[], role: string): Resource[] =>
  resources.filter((r) => (r.role ?? '*') === '*' || r.role === role);

export function computeAllocation(input: AllocationInput): AllocationDecision[] {
  const held = new Map(input.frameworks.map((f) => [f.id, [...f.allocated]]));
  const decisions: AllocationDecision[] = [];
  const candidates = input.frameworks.filter((f) => !f.suppressed);
  for (const agent of input.agents) {
    const order = orderFrameworks(candidates, held, input);
    const chosen = order.find(
      (f) => !f.filteredAgents.has(agent.id) && isAllocatable(usableBy(agent.available, f.role)),
    );
    if (!chosen) continue;
    const resources = usableBy(agent.available, chosen.role);
    decisions.push({ frameworkId: chosen.id, agentId: agent.id, resources });
    held.set(chosen.id, addResources(held.get(chosen.id) ?? [], resources));
  }
  return decisions;
}

function orderFrameworks(
  frameworks: readonly AllocationFramework[],
  held: ReadonlyMap<string, readonly Resource[]>,
  input: AllocationInput,
): AllocationFramework[] {
  const byRole = new Map<string, AllocationFramework[]>();
  for (const f of frameworks) byRole.set(f.role, [...(byRole.get(f.role) ?? []), f]);
  const roleClients = [...byRole].map(([role, members]) => ({
    id: role,
    weight: input.roleWeights.get(role) ?? 1,
    allocated: members.reduce<Resource[]>((acc, f) => addResources(acc, held.get(f.id) ?? []), []),
  }));
  const out: AllocationFramework[] = [];
  for (const role of sortByDrf(roleClients, input.totals)) {
    const members = byRole.get(role) ?? [];
    const ids = sortByDrf(
      members.map((f) => ({ id: f.id, weight: 1, allocated: held.get(f.id) ?? [] })),
      input.totals,
    );
    for (const id of ids) out.push(members.find((f) => f.id === id)!);
  }
  return out;
}
