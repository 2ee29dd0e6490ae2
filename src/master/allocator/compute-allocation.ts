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
  toMilli,
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
  type RoleAllocation,
} from './allocation-types.js';
import { QuotaTracker, type Quota } from './quota.js';
import { RoleSorter, SortedClients, type Client } from './sorter/drf.js';
import {
  addVec,
  capVec,
  containsVec,
  Dims,
  isZeroVec,
  splitByVec,
  type ReadonlyVec,
  type Vec,
} from './vector.js';

export * from './allocation-types.js';

interface FrameworkClient extends Client {
  readonly framework: AllocationFramework;
  /** The serial of the last agent this client was served on (to skip it when the order shifts). */
  servedOn: number;
  /** The framework has refuse filters (they do not change during a cycle). */
  readonly filters: boolean;
}

type Stage = 1 | 2;

/** Resources with their scalar sums, computed once and passed along (never changed once made). */
interface Offer {
  readonly resources: readonly Resource[];
  readonly all: ReadonlyVec;
  readonly unreserved: ReadonlyVec;
  /** Holds refined reservations (a stack deeper than one). */
  readonly refined: boolean;
  /** Only unreserved resources: allocatable to every role as they are. */
  readonly plain: boolean;
}

const isRefined = (r: Resource): boolean => (r.reservations?.length ?? 0) > 1;

/** The part of `free` allocatable to `role`: `free` itself when that is all of it (the usual case). */
function allocatablePart(free: readonly Resource[], role: string): readonly Resource[] {
  for (const r of free) if (!isAllocatableTo(r, role)) return allocatableTo(free, role);
  return free;
}

/** The shaped offers of one candidate, by whether refined reservations are left out; null: none. */
class ShapedOffers {
  private plain: Offer | 'no-guarantee' | null | undefined;
  private unrefined: Offer | 'no-guarantee' | null | undefined;

  get(refinedAway: boolean): Offer | 'no-guarantee' | null | undefined {
    return refinedAway ? this.unrefined : this.plain;
  }

  /** Forgets both (a new candidate). */
  reset(): this {
    this.plain = this.unrefined = undefined;
    return this;
  }

  set(refinedAway: boolean, offer: Offer | 'no-guarantee' | null): void {
    if (refinedAway) this.unrefined = offer;
    else this.plain = offer;
  }

  /** Whether no framework can get anything: every variant that may be asked for is null. */
  noneLeft(refined: boolean): boolean {
    return this.plain === null && (!refined || this.unrefined === null);
  }
}

/** What is left of an agent that gave everything: shared, so frozen. */
const NOTHING: readonly Resource[] = Object.freeze([]);

/**
 * The working state of the last cycle, kept reachable until the next one replaces it. V8 frees the hidden
 * classes of a cycle's objects (the cycle, its sorters, quota tracker, slots) at the first full GC after
 * none of them is alive, and throws away all optimized code specialised on them: the next cycle then
 * runs unoptimized until V8 compiles it again, twice as slow at 10k agents. Results do not depend on it.
 */
const kept: { cycle?: Cycle } = {};

export function computeAllocation(input: AllocationInput): AllocationResult {
  // Iterables may be one-shot (a Map's values()): read each once.
  const all = [...input.agents];
  const cycle = new Cycle({ ...input, agents: all, frameworks: [...input.frameworks] });
  const agents: Slot[] = [];
  for (const a of all)
    if (a.active && a.available.length > 0)
      agents.push({ agent: a, free: a.available, offer: undefined, stageOne: undefined, changed: false });
  // Each agent's free resources are read once here; while an agent gives everything it has to one
  // framework (the usual case), the cycle never reads them again.
  cycle.summarize(agents);
  if (cycle.stageOneRoles.size > 0)
    for (const agent of agents) {
      if (cycle.stageOneRoles.size === 0) break;
      cycle.serveAgent(agent, 1);
    }
  for (const agent of agents) cycle.serveAgent(agent, 2);
  kept.cycle = cycle;
  return cycle.result();
}

/** An agent's working state in one cycle. */
interface Slot {
  readonly agent: AllocationAgent;
  /** What is still free on it. */
  free: readonly Resource[];
  /** `free` as an offer (its sums), computed when first needed after `free` changes. */
  offer: Offer | undefined;
  /** Stage 1's decisions on it, which stage 2 may add to. */
  stageOne: Decision[] | undefined;
  /** Whether `free` changed in this cycle. */
  changed: boolean;
}

/** The working state of one cycle: sorters, quota, what is left on agents, decisions. */
class Cycle {
  readonly stageOneRoles = new Set<string>();
  private readonly dims: Dims;
  private readonly roles: RoleSorter;
  private readonly frameworks = new Map<string, SortedClients<FrameworkClient>>();
  private readonly quota: QuotaTracker;
  private readonly changed: Slot[] = [];
  private readonly decisions: Decision[] = [];
  private readonly min: Vec[];
  /** Scratch space of the quick checks (one vector, reused). */
  private readonly bound: Vec;
  private readonly shaped = new ShapedOffers();
  /** The agents' own sums line up with this cycle's slots. */
  private readonly sumsUsable: boolean;
  private serial = 0;

  constructor(private readonly input: AllocationInput) {
    // The names of the agents' sums come first, so that those sums are this cycle's vectors as they are.
    const dims = (this.dims = new Dims(input.names ?? []));
    for (const name of input.totals.keys()) dims.register(name);
    const min = input.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE;
    for (const m of min) for (const name of m.keys()) dims.register(name);
    for (const s of input.roles.values())
      for (const name of [...(s.quota?.guarantees.keys() ?? []), ...(s.quota?.limits.keys() ?? [])])
        dims.register(name);
    dims.freeze();
    this.sumsUsable = input.names !== undefined && input.names.length === dims.names.length;
    this.bound = dims.zero();
    this.min = min.map((m) => dims.fromMap(m));
    const totals = dims.fromMap(input.totals);
    this.roles = new RoleSorter(totals, (role) => input.roles.get(role)?.weight ?? 1);
    const unreserved: Array<readonly [string, ReadonlyVec]> = [];
    const byRole = new Map<string, { all: Vec; active: boolean }>();
    const entry = (role: string): { all: Vec; active: boolean } => {
      let e = byRole.get(role);
      if (!e) byRole.set(role, (e = { all: dims.zero(), active: false }));
      return e;
    };
    for (const f of input.frameworks) {
      for (const [role, held] of f.allocated) {
        if (role === UNKNOWN_ROLE) continue;
        const sums = this.heldSums(held);
        unreserved.push([role, sums.unreserved]);
        addVec(entry(role).all, sums.all);
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
  }

  /** What a framework holds in a role as vectors (read only; possibly shorter than this cycle's). */
  private heldSums(held: RoleAllocation): { readonly all: ReadonlyVec; readonly unreserved: ReadonlyVec } {
    const v = held.vectors;
    if (this.sumsUsable && v) return v;
    return { all: this.dims.fromMap(held.all), unreserved: this.dims.fromMap(held.unreserved) };
  }

  /** Sums what each agent has free; the headroom available is the unreserved part on active agents. */
  summarize(slots: readonly Slot[]): void {
    const headroom = this.quota.holdsHeadroom;
    for (const slot of slots) {
      const sums = slot.agent.sums;
      const offer = (slot.offer =
        this.sumsUsable && sums && sums.resources === slot.free && sums.all.length === this.bound.length
          ? sums
          : this.offerOf(slot.free));
      if (headroom) addVec(this.quota.available, offer.unreserved);
    }
  }

  private addFramework(role: string, f: AllocationFramework, totals: Vec): void {
    let sorter = this.frameworks.get(role);
    if (!sorter) this.frameworks.set(role, (sorter = new SortedClients<FrameworkClient>(totals)));
    const held = f.allocated.get(role);
    const allocated = this.dims.zero();
    if (held) addVec(allocated, this.heldSums(held).all);
    const filters = f.filters.size > 0;
    sorter.insert({ id: f.id, weight: 1, allocated, share: 0, framework: f, servedOn: -1, filters, at: -1 });
  }

  /** Offers what the agent has free to roles, then frameworks, in DRF order. */
  serveAgent(slot: Slot, stage: Stage): void {
    this.serial++;
    if (slot.free.length === 0) return;
    const roles = this.roles.sort();
    for (let r = 0; r < roles.length; r++) {
      const role = roles[r]!;
      if (stage === 1 && !this.stageOneRoles.has(role)) continue;
      const sorter = this.frameworks.get(role);
      if (sorter) {
        this.serveRole(slot, role, sorter, stage);
        if (slot.free.length === 0) return;
      }
    }
  }

  private serveRole(slot: Slot, role: string, sorter: SortedClients<FrameworkClient>, stage: Stage): void {
    const agent = slot.agent;
    let candidate = this.candidateFor(slot, role);
    if (!candidate) return;
    // The shaped offer depends on the framework only through RESERVATION_REFINEMENT: it is computed at
    // most twice per candidate, not once per framework (a role at its limit would otherwise shape the
    // same empty offer for each of its frameworks, on every agent).
    const shaped = this.shaped.reset();
    const order = sorter.order;
    for (let i = 0; i < order.length;) {
      const client = order[i]!;
      if (client.servedOn === this.serial || !this.capable(client.framework, agent)) {
        i++;
        continue;
      }
      const f = client.framework;
      const refinedAway = candidate.refined && !f.capabilities.has('RESERVATION_REFINEMENT');
      let offer = shaped.get(refinedAway);
      if (offer === undefined)
        shaped.set(refinedAway, (offer = this.shapedOffer(stage, role, candidate, refinedAway)));
      if (offer === 'no-guarantee') return;
      if (offer === null) {
        if (shaped.noneLeft(candidate.refined)) return;
        i++;
        continue;
      }
      if (client.filters && this.filtered(f, role, agent.id, offer.resources)) {
        i++;
        continue;
      }
      this.record(stage, slot, role, client, sorter, offer, candidate);
      if (stage === 1 && isZeroVec(this.quota.unsatisfied(role))) this.stageOneRoles.delete(role);
      client.servedOn = this.serial;
      candidate = this.candidateFor(slot, role);
      if (!candidate) return;
      shaped.reset();
      // The served client moved to a later place; the one now at `i` has not been visited.
    }
  }

  /** What the agent has free for the role, if it is worth offering. */
  private candidateFor(slot: Slot, role: string): Offer | undefined {
    const whole = (slot.offer ??= this.offerOf(slot.free));
    const part = whole.plain ? slot.free : allocatablePart(slot.free, role);
    const candidate = part === slot.free ? whole : this.offerOf(part);
    return this.allocatable(candidate) ? candidate : undefined;
  }

  /** The offer of `resources`, reading each resource once (what `Dims.sums` does, and more). */
  private offerOf(resources: readonly Resource[]): Offer {
    const dims = this.dims;
    const all = dims.zero();
    let unreserved: Vec | undefined;
    let refined = false;
    let plain = true;
    for (let k = 0; k < resources.length; k++) {
      const r = resources[k]!;
      const reserved = !isUnreserved(r);
      if (reserved) plain = false;
      if ((r.reservations?.length ?? 0) > 1) refined = true;
      if (r.type !== 'SCALAR') continue;
      const i = dims.find(r.name);
      const value = toMilli(r.scalar?.value ?? 0);
      if (i < 0 || value <= 0) continue;
      // Until the first reserved scalar, everything so far is unreserved.
      if (reserved && !unreserved) unreserved = all.slice();
      all[i] = all[i]! + value;
      if (!reserved && unreserved) unreserved[i] = unreserved[i]! + value;
    }
    return { resources, all, unreserved: unreserved ?? all, refined, plain };
  }

  private allocatable(offer: Offer): boolean {
    if (offer.resources.length === 0) return false;
    const min = this.min;
    if (min.length === 0) return true;
    for (let k = 0; k < min.length; k++) if (containsVec(offer.all, min[k]!)) return true;
    return false;
  }

  private capable(f: AllocationFramework, agent: AllocationAgent): boolean {
    return !agent.gpus || f.capabilities.has('GPU_RESOURCES');
  }

  /**
   * The candidate after guarantees (stage 1), limits and headroom, without refined reservations when
   * `refinedAway`; null when there is none worth making; 'no-guarantee' when the role can make no
   * progress toward its guarantee here. The same for every framework of the role (filters aside).
   */
  private shapedOffer(
    stage: Stage,
    role: string,
    candidate: Offer,
    refinedAway: boolean,
  ): Offer | 'no-guarantee' | null {
    let offer = candidate;
    if (stage === 1 || refinedAway || this.quota.holdsHeadroom || this.quota.limits(role)) {
      if (stage === 2 && this.tooSmallWhenCapped(role, candidate)) return null;
      const usable = refinedAway ? candidate.resources.filter((r) => !isRefined(r)) : candidate.resources;
      const shaped = this.shape(stage, role, usable);
      if (shaped === 'no-guarantee') return shaped;
      offer = this.offerOf(shaped);
    }
    return this.allocatable(offer) ? offer : null;
  }

  /**
   * Stage 2's quick check, allocating nothing: whether even the candidate with its unreserved scalars
   * capped by the role's limits and the headroom (a bound of any shaped offer's sums) is below the
   * minimum allocatable. A role at its limit is then skipped without shaping an offer on every agent.
   */
  private tooSmallWhenCapped(role: string, candidate: Offer): boolean {
    const min = this.min;
    if (min.length === 0) return false;
    const bound = this.bound;
    const all = candidate.all;
    const unreserved = candidate.unreserved;
    for (let i = 0; i < bound.length; i++) bound[i] = unreserved[i]!;
    this.quota.capUnreserved(role, bound);
    for (let i = 0; i < bound.length; i++) bound[i] = bound[i]! + (all[i]! - unreserved[i]!);
    for (let m = 0; m < min.length; m++) if (containsVec(bound, min[m]!)) return false;
    return true;
  }

  /**
   * Whether the role's limits leave too little of an unreserved candidate for any mle`. */
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
    slot: Slot,
    role: string,
    client: FrameworkClient,
    sorter: SortedClients<FrameworkClient>,
    offer: Offer,
    candidate: Offer,
  ): void {
    const agent = slot.agent;
    const free = slot.free;
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
    if (!slot.changed) this.changed.push(slot);
    slot.changed = true;
    slot.free = left;
    slot.offer = undefined;
    sorter.update(client, offer.all);
    this.roles.allocate(role, offer.all);
    if (this.quota.any) this.quota.charge(role, offer.unreserved);
    // Stage 2 may add to what stage 1 offered the same framework and role on this agent: one offer.
    const earlier = slot.stageOne?.find((d) => d.frameworkId === client.id && d.role === role);
    if (earlier) return earlier.merge(taken, offer.all, offer.unreserved);
    const decision = new Decision(
      client.id,
      agent.id,
      role,
      taken,
      offer.all,
      offer.unreserved,
      this.dims,
      agent,
      client.framework,
    );
    this.decisions.push(decision);
    if (stage === 1) (slot.stageOne ??= []).push(decision);
  }

  result(): AllocationResult {
    const changed = this.changed;
    let remaining: Map<string, readonly Resource[]> | undefined;
    return {
      decisions: this.decisions,
      changed,
      // Built only when read: the allocator uses `changed`.
      get remaining() {
        return (remaining ??= new Map(changed.map((s) => [s.agent.id, s.free] as const)));
      },
      dims: this.dims.names,
    };
  }
}
