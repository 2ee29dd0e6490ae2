/**
 * One allocation cycle as a pure function (Mesos's hierarchical allocator, `__generateOffers`): given
 * what each agent has free, what each framework holds per role, weights and quotas, decide who is
 * offered what. Nothing in the input is changed.
 *
 * Order: roles by hierarchical weighted DRF, then the frameworks of a role by DRF over what they hold
 * in that role. Shares are kept up to date as the cycle hands out resources, one client at a time.
 *
 * Stage 1 serves roles below their quota guarantee: each gets unreserved scalars up to its guarantee
 * (plus its reservations, the agent's non-scalars, and more scalars within its limits and the headroom).
 * Stage 2 serves every role: reservations allocatable to it, non-scalars, and unreserved scalars capped
 * by its limits (and its ancestors') and by the headroom held back for other roles' unsatisfied
 * guarantees. An offer smaller than the minimum allocatable resources, or one a framework has refused
 * (a filter holding all of it), is not made.
 *
 * Inside, scalar sums are dense vectors (`vector.ts`): the hot path does no map lookups.
 */
import {
  allocatableTo,
  containsResources,
  isAllocatableTo,
  isUnreserved,
  reservedRole,
  subtractResources,
  type Resource,
} from '../../core/resources.js';
import {
  Decision,
  DEFAULT_MIN_ALLOCATABLE,
  UNKNOWN_ROLE,
  type AllocationAgent,
  type AllocationFramework,
  type AllocationInput,
  type AllocationResult,
} from './allocation-types.js';
import { QuotaTracker, type Quota } from './quota.js';
import { RoleSorter, SortedClients, type Client } from './sorter/drf.js';
import { addVec, capVec, containsVec, Dims, isZeroVec, splitByVec, type Vec } from './vector.js';

export * from './allocation-types.js';

interface FrameworkClient extends Client {
  readonly framework: AllocationFramework;
  /** The serial of the last agent this client was served on (to skip it when the order shifts). */
  servedOn: number;
}

type Stage = 1 | 2;

/** Resources with their scalar sums, computed once and passed along. */
interface Offer {
  readonly resources: readonly Resource[];
  readonly all: Vec;
  readonly unreserved: Vec;
  /** Holds refined reservations (a stack deeper than one). */
  readonly refined: boolean;
}

const isRefined = (r: Resource): boolean => (r.reservations?.length ?? 0) > 1;

/** The part of `free` allocatable to `role`: `free` itself when that is all of it (the usual case). */
function allocatablePart(free: readonly Resource[], role: string): readonly Resource[] {
  for (const r of free) if (!isAllocatableTo(r, role)) return allocatableTo(free, role);
  return free;
}

/** What is left of an agent that gave everything: shared, so frozen. */
const NOTHING: readonly Resource[] = Object.freeze([]);

export function computeAllocation(input: AllocationInput): AllocationResult {
  // Iterables may be one-shot (a Map's values()): read each once.
  const all = [...input.agents];
  const cycle = new Cycle({ ...input, agents: all, frameworks: [...input.frameworks] });
  const agents = all.filter((a) => a.active && a.available.length > 0);
  if (cycle.stageOneRoles.size > 0)
    for (const agent of agents) {
      if (cycle.stageOneRoles.size === 0) break;
      cycle.serveAgent(agent, 1);
    }
  for (const agent of agents) cycle.serveAgent(agent, 2);
  return cycle.result();
}

/** The working state of one cycle: sorters, quota, what is left on agents, decisions. */
class Cycle {
  readonly stageOneRoles = new Set<string>();
  private readonly dims: Dims;
  private readonly roles: RoleSorter;
  private readonly frameworks = new Map<string, SortedClients<FrameworkClient>>();
  private readonly quota: QuotaTracker;
  private readonly remaining = new Map<string, readonly Resource[]>();
  private readonly decisions: Decision[] = [];
  private readonly stageOne = new Map<string, Decision[]>();
  private readonly min: Vec[];
  private serial = 0;

  constructor(private readonly input: AllocationInput) {
    const dims = (this.dims = new Dims(input.totals.keys()));
    const min = input.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE;
    for (const m of min) for (const name of m.keys()) dims.register(name);
    for (const s of input.roles.values())
      for (const name of [...(s.quota?.guarantees.keys() ?? []), ...(s.quota?.limits.keys() ?? [])])
        dims.register(name);
    dims.freeze();
    this.min = min.map((m) => dims.fromMap(m));
    const totals = dims.fromMap(input.totals);
    this.roles = new RoleSorter(totals, (role) => input.roles.get(role)?.weight ?? 1);
    const unreserved: Array<readonly [string, Vec]> = [];
    const byRole = new Map<string, { all: Vec; active: boolean }>();
    const entry = (role: string): { all: Vec; active: boolean } => {
      let e = byRole.get(role);
      if (!e) byRole.set(role, (e = { all: dims.zero(), active: false }));
      return e;
    };
    for (const f of input.frameworks) {
      for (const [role, held] of f.allocated) {
        if (role === UNKNOWN_ROLE) continue;
        unreserved.push([role, dims.fromMap(held.unreserved)]);
        addVec(entry(role).all, dims.fromMap(held.all));
      }
      if (!f.active) continue;
      for (const role of f.roles) {
        if (f.suppressedRoles.has(role)) continue;
        entry(role).active = true;
        this.addFramework(role, f, totals);
      }
    }
    for (const [role, e] of byRole) this.roles.addLeaf(role, e.all, e.active);
    const quotas = new Map<string, Quota>();
    for (const [role, s] of input.roles) if (s.quota) quotas.set(role, s.quota);
    const reserved = new Map([...input.reserved].map(([role, q]) => [role, dims.fromMap(q)] as const));
    this.quota = new QuotaTracker(quotas, reserved, unreserved, dims);
    for (const [role, e] of byRole)
      if (e.active && !isZeroVec(this.quota.unsatisfied(role))) this.stageOneRoles.add(role);
    if (this.quota.holdsHeadroom)
      for (const agent of input.agents)
        if (agent.active) addVec(this.quota.available, dims.sums(agent.available).unreserved);
  }

  private addFramework(role: string, f: AllocationFramework, totals: Vec): void {
    let sorter = this.frameworks.get(role);
    if (!sorter) this.frameworks.set(role, (sorter = new SortedClients<FrameworkClient>(totals)));
    const allocated = this.dims.fromMap(f.allocated.get(role)?.all ?? new Map());
    sorter.insert({ id: f.id, weight: 1, allocated, share: 0, framework: f, servedOn: -1 });
  }

  /** Offers what the agent has free to roles, then frameworks, in DRF order. */
  serveAgent(agent: AllocationAgent, stage: Stage): void {
    this.serial++;
    for (const role of this.roles.sort()) {
      if ((this.remaining.get(agent.id) ?? agent.available).length === 0) return;
      if (stage === 1 && !this.stageOneRoles.has(role)) continue;
      const sorter = this.frameworks.get(role);
      if (sorter) this.serveRole(agent, role, sorter, stage);
    }
  }

  private serveRole(
    agent: AllocationAgent,
    role: string,
    sorter: SortedClients<FrameworkClient>,
    stage: Stage,
  ): void {
    let candidate = this.candidateFor(agent, role);
    if (!candidate) return;
    const order = sorter.order;
    for (let i = 0; i < order.length;) {
      const client = order[i]!;
      if (client.servedOn === this.serial || !this.capable(client.framework, agent)) {
        i++;
        continue;
      }
      const offer = this.offerFor(stage, agent, role, client.framework, candidate);
      if (offer === 'no-guarantee') return;
      if (!offer) {
        i++;
        continue;
      }
      this.record(stage, agent, role, client, sorter, offer, candidate);
      if (stage === 1 && isZeroVec(this.quota.unsatisfied(role))) this.stageOneRoles.delete(role);
      client.servedOn = this.serial;
      candidate = this.candidateFor(agent, role);
      if (!candidate) return;
      // The served client moved to a later place; the one now at `i` has not been visited.
    }
  }

  /** What the agent has free for the role, if it is worth offering. */
  private candidateFor(agent: AllocationAgent, role: string): Offer | undefined {
    const candidate = this.offerOf(allocatablePart(this.remaining.get(agent.id) ?? agent.available, role));
    return this.allocatable(candidate) ? candidate : undefined;
  }

  private offerOf(resources: readonly Resource[]): Offer {
    const { all, unreserved } = this.dims.sums(resources);
    let refined = false;
    for (let i = 0; i < resources.length && !refined; i++) refined = isRefined(resources[i]!);
    return { resources, all, unreserved, refined };
  }

  private allocatable(offer: Offer): boolean {
    if (offer.resources.length === 0) return false;
    return this.min.length === 0 || this.min.some((m) => containsVec(offer.all, m));
  }

  private capable(f: AllocationFramework, agent: AllocationAgent): boolean {
    return !agent.gpus || f.capabilities.has('GPU_RESOURCES');
  }

  /**
   * The offer for one framework, after guarantees (stage 1), limits and headroom; undefined when there
   * is none worth making; 'no-guarantee' when the role can make no progress toward its guarantee here.
   */
  private offerFor(
    stage: Stage,
    agent: AllocationAgent,
    role: string,
    f: AllocationFramework,
    candidate: Offer,
  ): Offer | 'no-guarantee' | undefined {
    const refinedAway = candidate.refined && !f.capabilities.has('RESERVATION_REFINEMENT');
    let offer = candidate;
    if (stage === 1 || refinedAway || this.quota.holdsHeadroom || this.quota.limits(role)) {
      const usable = refinedAway ? candidate.resources.filter((r) => !isRefined(r)) : candidate.resources;
      const shaped = this.shape(stage, role, usable);
      if (shaped === 'no-guarantee') return shaped;
      offer = this.offerOf(shaped);
    }
    if (!this.allocatable(offer) || this.filtered(f, role, agent.id, offer.resources)) return undefined;
    return offer;
  }

  /** Applies guarantees (stage 1), limits and headroom to the unreserved scalars of `usable`. */
  private shape(stage: Stage, role: string, usable: readonly Resource[]): Resource[] | 'no-guarantee' {
    const quotaPart: Resource[] = [];
    const fixed: Resource[] = [];
    for (const r of usable) (r.type === 'SCALAR' && isUnreserved(r) ? quotaPart : fixed).push(r);
    let toOffer = fixed;
    let additional = quotaPart;
    let guaranteed: Vec | undefined;
    if (stage === 1) {
      // Limits win over guarantees (a subrole's guarantee may exceed what its parent's limit leaves).
      const target = this.quota.unsatisfied(role);
      const gap = this.quota.limitGap(role);
      const split = splitByVec(quotaPart, gap ? capVec(target, gap) : target, this.dims, 0);
      if (split.taken.length === 0) return 'no-guarantee';
      guaranteed = this.dims.sums(split.taken).all;
      toOffer = [...split.taken, ...fixed.filter((r) => r.type !== 'SCALAR' || reservedRole(r) === role)];
      additional = split.rest;
    }
    const gap = this.quota.limitGap(role, guaranteed);
    if (gap) additional = splitByVec(additional, gap, this.dims, Infinity).taken;
    if (this.quota.holdsHeadroom && additional.length > 0)
      additional = splitByVec(additional, this.quota.surplusHeadroom(), this.dims, 0).taken;
    return additional.length > 0 ? [...toOffer, ...additional] : toOffer;
  }

  private filtered(
    f: AllocationFramework,
    role: string,
    agentId: string,
    offer: readonly Resource[],
  ): boolean {
    const filters = f.filters.get(role)?.get(agentId);
    if (!filters) return false;
    return filters.some((x) => x.until > this.input.now && containsResources(x.resources, offer));
  }

  private record(
    stage: Stage,
    agent: AllocationAgent,
    role: string,
    client: FrameworkClient,
    sorter: SortedClients<FrameworkClient>,
    offer: Offer,
    candidate: Offer,
  ): void {
    const free = this.remaining.get(agent.id) ?? agent.available;
    // Usually the framework takes all the role may have: the rest is then what the role may not use.
    const taken = offer.resources;
    const whole =
      offer === candidate ||
      (taken.length === candidate.resources.length && taken.every((r) => candidate.resources.includes(r)));
    const left = !whole
      ? subtractResources(free, taken)
      : taken.length === free.length
        ? NOTHING
        : free.filter((r) => !isAllocatableTo(r, role));
    this.remaining.set(agent.id, left);
    sorter.update(client, offer.all);
    this.roles.allocate(role, offer.all);
    if (this.quota.any) this.quota.charge(role, offer.unreserved);
    // Stage 2 may add to what stage 1 offered the same framework and role on this agent: one offer.
    const earlier = this.stageOne.get(agent.id)?.find((d) => d.frameworkId === client.id && d.role === role);
    if (earlier) return earlier.merge(taken, offer.all, offer.unreserved);
    const vectors = { all: offer.all, unreserved: offer.unreserved };
    const decision = new Decision(client.id, agent.id, role, taken, vectors, this.dims);
    this.decisions.push(decision);
    if (stage === 1) this.stageOne.set(agent.id, [...(this.stageOne.get(agent.id) ?? []), decision]);
  }

  result(): AllocationResult {
    return { decisions: this.decisions, remaining: this.remaining, dims: this.dims.names };
  }
}
