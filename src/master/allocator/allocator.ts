/**
 * The allocator owns the bookkeeping of who holds what on which agent and runs allocation cycles in
 * batches: on an interval and soon after any event that frees or asks for resources. The decisions are
 * `computeAllocation`'s (pure); this class only keeps the books. It never imports the master: offers
 * leave through the `offer` callback.
 *
 * What the master calls, and when:
 * - `addAgent(id, total, { active? })` on agent SUBSCRIBE (again on re-subscribe: the
 *   allocations recorded on it are kept). `updateAgent(id, total)` when its total changes outside an
 *   offer (operator RESERVE/CREATE applied by the master, agent resources changed). `removeAgent(id)` when
 *   it is gone for good. `deactivateAgent(id)` on disconnect and for draining/maintenance (no offers,
 *   allocations kept); `activateAgent(id)` when it is back.
 * - `addFramework(id, roles, { capabilities?, suppressedRoles? })` on SUBSCRIBE, then
 *   `recordAllocation(fw, agent, resources)` for each of its live tasks; `updateFramework(id, roles,
 *   options)` when a re-subscription changes roles; `deactivateFramework(id)` when its stream closes (its
 *   filters are dropped), `activateFramework(id)` when it is back; `removeFramework(id)` on TEARDOWN or
 *   failover timeout (everything it holds is freed).
 * - `suppress(fw, roles?)` / `revive(fw, roles?)` for SUPPRESS / REVIVE (no roles = all its roles;
 *   REVIVE also clears the refuse filters of those roles).
 * - `recoverResources(fw, agent, resources, refuseSeconds?)` whenever offered or used resources come
 *   back: DECLINE and the unused part of ACCEPT (with `filters.refuse_seconds`, Mesos's default 5),
 *   an offer rescinded or timed out (no filter), a task that reached a terminal state (no filter).
 * - `updateAllocation(fw, agent, offered, operations, ctx)` before LAUNCH when an ACCEPT carries
 *   RESERVE/UNRESERVE/CREATE/DESTROY: converts the offered resources and the agent's total together and
 *   returns the converted offer (launch against it) and the new total (persist and checkpoint it).
 *   `updateAvailable(agent, operations, ctx)` does the same on unallocated resources (operator API).
 * - `setWeight(role, w)`, `setQuota(role, { guarantees, limits })`, `removeQuota(role)`.
 * - `offer(frameworkId, agentId, resources, role)` is called once per (framework, agent, role) and
 *   cycle; the resources are already recorded as allocated. With `allocationInfo: true` every resource
 *   carries `allocation_info: { role }` (Mesos's MULTI_ROLE form).
 * The master owns offers and their timeout: it rescinds an offer that is too old and recovers its
 * resources here. Filters are per framework, role and agent: an offer is filtered only if it is a subset
 * of the refused resources, until `max(refuse_seconds, interval)` has passed (Mesos's semantics).
 */
import type { Clock, Timer } from '../../core/clock.js';
import { InvalidArgumentError } from '../../core/errors.js';
import {
  addResources,
  allocateTo,
  containsResources,
  isUnreserved,
  subtractResources,
  toMilli,
  unallocate,
  type Resource,
} from '../../core/resources.js';
import {
  addFilter,
  defaultRole,
  hasGpus,
  HeldInRole,
  heldOn,
  newAgent,
  newFramework,
  pruneFilters,
  setHeld,
  totalSums,
  type AgentEntry,
  type FrameworkEntry,
} from './books.js';
import {
  computeAllocation,
  DEFAULT_MIN_ALLOCATABLE,
  UNKNOWN_ROLE,
  type AllocationDecision,
  type AvailableSums,
  type RoleSettings,
} from './compute-allocation.js';
import { applyOperations, type OperationContext, type ResourceOperation } from './operations.js';
import { addInto, quantitiesFrom, quantitiesOf, type Quantities } from './quantities.js';
import type { ReadonlyVec } from './vector.js';

/** Scalar sums of a decision, as vectors over the cycle's names. */
interface Sums {
  readonly all: ReadonlyVec;
  readonly unreserved: ReadonlyVec;
}

export interface AllocatorOptions {
  clock: Clock;
  /** Called once per decision; the master turns it into an offer. */
  offer: (frameworkId: string, agentId: string, resources: Resource[], role: string) => void;
  intervalMs?: number;
  /** Attach `allocation_info: { role }` to offered resources. Default false until the master injects it. */
  allocationInfo?: boolean;
  /** An offer must hold at least one of these; default `[{ cpus: 0.01 }, { mem: 32 }]`. */
  minAllocatable?: ReadonlyArray<Readonly<Record<string, number>>>;
  /** Offer agents with GPUs only to GPU_RESOURCES-capable frameworks (Mesos's default). Default true. */
  filterGpuResources?: boolean;
}

export interface QuotaConfig {
  guarantees?: Readonly<Record<string, number>>;
  limits?: Readonly<Record<string, number>>;
}

export interface FrameworkOptions {
  capabilities?: Iterable<string>;
  suppressedRoles?: Iterable<string>;
}

const MAX_REFUSE_SECONDS = 365 * 24 * 3600;

export class Allocator {
  private readonly agents = new Map<string, AgentEntry>();
  private readonly frameworks = new Map<string, FrameworkEntry>();
  private readonly roleSettings = new Map<string, RoleSettings>();
  private readonly totals: Quantities = new Map();
  private readonly reserved = new Map<string, Quantities>();
  private readonly minAllocatable;
  /**
   * Every scalar name seen (agents' totals, quotas, the minimum allocatable), by slot: the agents' free
   * sums are vectors over these, and cycles use the same slots.
   */
  private readonly names: string[] = [];
  private readonly slots = new Map<string, number>();
  /** A zero vector over `names`, of doubles (every vector is a copy: one V8 elements kind). */
  private zero: number[] = [];
  private interval: Timer | undefined;
  private pending: Timer | undefined;
  private stopped = false;

  constructor(private readonly options: AllocatorOptions) {
    this.minAllocatable = options.minAllocatable?.map((m) => quantitiesFrom(m));
    for (const m of this.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE)
      for (const name of m.keys()) this.slotOf(name);
  }

  start(): void {
    this.stopped = false;
    const every = this.options.intervalMs ?? 1000;
    const tick = (): void => {
      this.allocate();
      if (!this.stopped) this.interval = this.options.clock.setTimeout(tick, every);
    };
    this.interval = this.options.clock.setTimeout(tick, every);
  }

  stop(): void {
    this.stopped = true;
    if (this.interval) this.options.clock.clearTimeout(this.interval);
    if (this.pending) this.options.clock.clearTimeout(this.pending);
    this.pending = undefined;
  }

  // ---- agents ----------------------------------------------------------------------------------------

  addAgent(id: string, total: readonly Resource[], options: { active?: boolean } = {}): void {
    const existing = this.agents.get(id);
    if (existing) {
      this.updateAgent(id, total);
      existing.active = options.active ?? true;
    } else {
      const agent = newAgent(id, options.active ?? true);
      this.agents.set(id, agent);
      this.setTotal(agent, total);
    }
    this.requestAllocation();
  }

  /** Replaces the agent's total (e.g. after an operator RESERVE); what is allocated on it stays. */
  updateAgent(id: string, total: readonly Resource[]): void {
    const agent = this.agents.get(id);
    if (!agent) return;
    this.setTotal(agent, total);
    this.requestAllocation();
  }

  activateAgent(id: string): void {
    const agent = this.agents.get(id);
    if (agent && !agent.active) {
      agent.active = true;
      this.requestAllocation();
    }
  }

  /** No more offers for this agent (disconnected, draining); its allocations stay recorded. */
  deactivateAgent(id: string): void {
    const agent = this.agents.get(id);
    if (agent) agent.active = false;
  }

  removeAgent(id: string): void {
    const agent = this.agents.get(id);
    if (!agent) return;
    for (const [frameworkId, byRole] of agent.allocated)
      for (const [role, held] of byRole) this.chargeFramework(frameworkId, role, held, -1);
    this.chargeAgentTotals(agent, -1);
    this.agents.delete(id);
    for (const f of this.frameworks.values()) for (const byAgent of f.filters.values()) byAgent.delete(id);
  }

  /** What the agent has free (total minus offered and allocated). */
  availableOn(agentId: string): Resource[] {
    return [...(this.agents.get(agentId)?.available ?? [])];
  }

  // ---- frameworks ------------------------------------------------------------------------------------

  addFramework(id: string, roles: string | readonly string[], options: FrameworkOptions = {}): void {
    const f = this.frameworks.get(id) ?? newFramework(id);
    this.frameworks.set(id, f);
    f.active = true;
    this.setRoles(f, roles, options);
    this.requestAllocation();
  }

  /** A re-subscription with other roles or capabilities; allocations in roles it left stay until recovered. */
  updateFramework(id: string, roles: string | readonly string[], options: FrameworkOptions = {}): void {
    const f = this.frameworks.get(id);
    if (!f) return;
    this.setRoles(f, roles, options);
    this.requestAllocation();
  }

  activateFramework(id: string): void {
    const f = this.frameworks.get(id);
    if (f && !f.active) {
      f.active = true;
      this.requestAllocation();
    }
  }

  /** No more offers; its filters are dropped (a new scheduler instance starts clean). */
  deactivateFramework(id: string): void {
    const f = this.frameworks.get(id);
    if (!f) return;
    f.active = false;
    f.filters.clear();
  }

  /** Forgets the framework and frees everything it holds. */
  removeFramework(id: string): void {
    for (const agent of this.agents.values()) {
      const byRole = agent.allocated.get(id);
      if (!byRole) continue;
      for (const held of byRole.values()) this.setAvailable(agent, addResources(agent.available, held));
      agent.allocated.delete(id);
    }
    this.frameworks.delete(id);
    this.requestAllocation();
  }

  suppress(frameworkId: string, roles?: readonly string[]): void {
    const f = this.frameworks.get(frameworkId);
    if (!f) return;
    for (const role of roles ?? f.roles) if (f.roles.includes(role)) f.suppressedRoles.add(role);
  }

  /** Resumes offers for the roles (all by default) and clears their refuse filters (Mesos REVIVE). */
  revive(frameworkId: string, roles?: readonly string[]): void {
    const f = this.frameworks.get(frameworkId);
    if (!f) return;
    for (const role of roles ?? f.roles) {
      f.suppressedRoles.delete(role);
      f.filters.delete(role);
    }
    this.requestAllocation();
  }

  // ---- roles -----------------------------------------------------------------------------------------

  setWeight(role: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new InvalidArgumentError(`weight of role "${role}" must be a positive number`);
    this.roleSettings.set(role, { ...this.roleSettings.get(role), weight });
    this.requestAllocation();
  }

  /** @deprecated use `setWeight`. */
  setRoleWeight(role: string, weight: number): void {
    this.setWeight(role, weight);
  }

  /** Sets the role's quota: `guarantees` are served first, `limits` are never exceeded. */
  setQuota(role: string, config: QuotaConfig): void {
    if (role === '*' || role === '') throw new InvalidArgumentError('quota cannot be set on role "*"');
    const guarantees = quantitiesFrom(config.guarantees);
    const limits = quantitiesFrom(config.limits);
    for (const [name, g] of guarantees) {
      const limit = limits.get(name);
      if (limit !== undefined && g > limit)
        throw new InvalidArgumentError(`quota of role "${role}": the guarantee of ${name} exceeds its limit`);
    }
    for (const name of [...guarantees.keys(), ...limits.keys()]) this.slotOf(name);
    this.roleSettings.set(role, { ...this.roleSettings.get(role), quota: { guarantees, limits } });
    this.requestAllocation();
  }

  removeQuota(role: string): void {
    const s = this.roleSettings.get(role);
    if (s) this.roleSettings.set(role, { weight: s.weight });
    this.requestAllocation();
  }

  // ---- allocations -----------------------------------------------------------------------------------

  /** Records resources as held, e.g. tasks found running after a restart. */
  recordAllocation(frameworkId: string, agentId: string, resources: readonly Resource[]): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    if (!this.frameworks.has(frameworkId)) this.frameworks.set(frameworkId, newFramework(frameworkId));
    for (const [role, list] of this.byRole(frameworkId, agent, resources)) {
      this.track(frameworkId, agent, role, list);
      this.setAvailable(agent, subtractResources(agent.available, list));
    }
  }

  /**
   * Gives resources back: an offer declined, rescinded or partly used (with the framework's
   * `refuseSeconds`), or a task that ended (without). With `refuseSeconds` > 0 the framework is not offered these resources (or less) on this agent again for
   * that long, in that role.
   */
  recoverResources(
    frameworkId: string,
    agentId: string,
    resources: readonly Resource[],
    refuseSeconds?: number,
  ): void {
    const agent = this.agents.get(agentId);
    if (!agent || resources.length === 0) return;
    const f = this.frameworks.get(frameworkId);
    for (const [role, list] of this.byRole(frameworkId, agent, resources)) {
      const held = agent.allocated.get(frameworkId)?.get(role) ?? [];
      const left = subtractResources(held, list);
      const released = subtractResources(held, left);
      setHeld(agent, frameworkId, role, left);
      this.chargeFramework(frameworkId, role, released, -1);
      this.setAvailable(agent, addResources(agent.available, released));
      if (f && refuseSeconds !== undefined && refuseSeconds > 0) {
        const ms = Math.max(
          Math.min(refuseSeconds, MAX_REFUSE_SECONDS) * 1000,
          this.options.intervalMs ?? 1000,
        );
        addFilter(f, role, agentId, { resources: list, until: this.options.clock.now() + ms });
      }
    }
    // Resources a task gave back are offered at once. What a framework declined or left unused (it passed
    // a refuse filter, perhaps of 0 s) waits for the next batch, as in Mesos: re-offering it at once to the
    // same framework, which just said no, would spin the master in a decline loop.
    if (refuseSeconds === undefined) this.requestAllocation();
  }

  /**
   * Applies RESERVE/UNRESERVE/CREATE/DESTROY from an ACCEPT to the offered resources and to the
   * agent's total at once. Returns the converted offer and the new total, or the first problem.
   */
  updateAllocation(
    frameworkId: string,
    agentId: string,
    offered: readonly Resource[],
    operations: readonly ResourceOperation[],
    ctx: OperationContext = {},
  ): { ok: true; offered: Resource[]; total: Resource[] } | { ok: false; reason: string } {
    const agent = this.agents.get(agentId);
    if (!agent) return { ok: false, reason: `agent "${agentId}" is not known` };
    const groups = this.byRole(frameworkId, agent, offered);
    if (groups.length !== 1) return { ok: false, reason: 'apply operations to the resources of one offer' };
    const [role, plain] = groups[0]!;
    const held = agent.allocated.get(frameworkId)?.get(role) ?? [];
    if (!containsResources(held, plain))
      return { ok: false, reason: 'the offered resources are no longer allocated to the framework' };
    const converted = applyOperations(plain, operations, ctx);
    if (!converted.ok) return converted;
    const total = addResources(subtractResources(agent.total, plain), converted.resources);
    this.chargeFramework(frameworkId, role, plain, -1);
    setHeld(agent, frameworkId, role, subtractResources(held, plain));
    this.setTotal(agent, total);
    this.track(frameworkId, agent, role, converted.resources);
    this.setAvailable(agent, subtractResources(agent.available, converted.resources));
    const out = offered.some((r) => r.allocation_info)
      ? allocateTo(converted.resources, role)
      : converted.resources;
    return { ok: true, offered: out, total: [...agent.total] };
  }

  /** Applies operations to the agent's unallocated resources (operator API); returns the new total. */
  updateAvailable(
    agentId: string,
    operations: readonly ResourceOperation[],
    ctx: OperationContext = {},
  ): { ok: true; total: Resource[] } | { ok: false; reason: string } {
    const agent = this.agents.get(agentId);
    if (!agent) return { ok: false, reason: `agent "${agentId}" is not known` };
    const converted = applyOperations(agent.available, operations, ctx);
    if (!converted.ok) return converted;
    this.setTotal(agent, addResources(converted.resources, heldOn(agent)));
    this.requestAllocation();
    return { ok: true, total: [...agent.total] };
  }

  /** Runs a cycle soon, batching the events that arrive meanwhile. */
  requestAllocation(): void {
    if (this.pending || this.stopped) return;
    this.pending = this.options.clock.setTimeout(() => {
      this.pending = undefined;
      this.allocate();
    }, 0);
  }

  /** One allocation cycle now; returns its decisions (already recorded and offered). */
  allocate(): AllocationDecision[] {
    const now = this.options.clock.now();
    for (const f of this.frameworks.values()) pruneFilters(f, now);
    const { decisions, changed, dims } = computeAllocation({
      names: this.names,
      now,
      agents: this.agents.values(),
      frameworks: this.frameworks.values(),
      roles: this.roleSettings,
      totals: this.totals,
      reserved: this.reserved,
      minAllocatable: this.minAllocatable,
    });
    // The agents and frameworks of the input are this allocator's own records: no lookups by id.
    for (const { agent, free } of changed) this.setAvailable(agent as AgentEntry, free);
    for (const d of decisions) {
      const agent = (d.agent as AgentEntry | undefined) ?? this.agents.get(d.agentId)!;
      this.track(d.frameworkId, agent, d.role, d.offered, dims, d, d.framework as FrameworkEntry | undefined);
    }
    for (const d of decisions)
      this.options.offer(
        d.frameworkId,
        d.agentId,
        this.options.allocationInfo ? d.resources : [...d.offered],
        d.role,
      );
    return decisions;
  }

  // ---- bookkeeping -----------------------------------------------------------------------------------

  private setRoles(f: FrameworkEntry, roles: string | readonly string[], options: FrameworkOptions): void {
    const list = typeof roles === 'string' ? [roles] : [...new Set(roles)];
    f.roles = list.length > 0 ? list : ['*'];
    f.capabilities = new Set(options.capabilities ?? f.capabilities);
    f.suppressedRoles = new Set([...(options.suppressedRoles ?? [])].filter((r) => f.roles.includes(r)));
    for (const role of f.filters.keys()) if (!f.roles.includes(role)) f.filters.delete(role);
    // Resources recorded before the framework subscribed belong to its first role.
    if (!f.allocated.has(UNKNOWN_ROLE)) return;
    for (const agent of this.agents.values()) {
      const unknown = agent.allocated.get(f.id)?.get(UNKNOWN_ROLE);
      if (!unknown) continue;
      this.chargeFramework(f.id, UNKNOWN_ROLE, unknown, -1);
      setHeld(agent, f.id, UNKNOWN_ROLE, []);
      this.track(f.id, agent, f.roles[0]!, unknown);
    }
  }

  /** Groups resources by the role they are allocated to, without `allocation_info`. */
  private byRole(
    frameworkId: string,
    agent: AgentEntry,
    resources: readonly Resource[],
  ): [string, Resource[]][] {
    const out = new Map<string, Resource[]>();
    let fallback: string | undefined;
    for (const r of resources) {
      const role =
        r.allocation_info?.role ??
        (fallback ??= defaultRole(this.frameworks.get(frameworkId), agent, resources));
      const list = out.get(role) ?? [];
      list.push(r.allocation_info ? unallocate([r])[0]! : r);
      out.set(role, list);
    }
    return [...out];
  }

  private track(
    frameworkId: string,
    agent: AgentEntry,
    role: string,
    resources: readonly Resource[],
    names?: readonly string[],
    sums?: Sums,
    framework?: FrameworkEntry,
  ): void {
    const prev = agent.allocated.get(frameworkId)?.get(role);
    setHeld(agent, frameworkId, role, prev ? addResources(prev, resources) : (resources as Resource[]));
    this.chargeFramework(frameworkId, role, resources, 1, names, sums, framework);
  }

  private chargeFramework(
    frameworkId: string,
    role: string,
    resources: readonly Resource[],
    sign: 1 | -1,
    names?: readonly string[],
    sums?: Sums,
    framework?: FrameworkEntry,
  ): void {
    const f = framework ?? this.frameworks.get(frameworkId);
    if (!f || resources.length === 0) return;
    let held = f.allocated.get(role);
    if (!held) f.allocated.set(role, (held = new HeldInRole(this.names, this.zero)));
    // A cycle's names are this allocator's (it registers every name first); otherwise map them by name.
    if (names && sums && this.sameSlots(names)) held.add(sums.all, sums.unreserved, sign);
    else held.add(this.vectorOf(quantitiesOf(resources)), this.vectorOf(quantitiesOf(resources, true)), sign);
    if (held.empty) f.allocated.delete(role);
  }

  private sameSlots(names: readonly string[]): boolean {
    if (names === this.names) return true;
    if (names.length > this.names.length) return false;
    for (let i = 0; i < names.length; i++) if (names[i] !== this.names[i]) return false;
    return true;
  }

  /** Quantities as a vector over `names` (registering new names). */
  private vectorOf(q: ReadonlyMap<string, number>): number[] {
    for (const name of q.keys()) this.slotOf(name);
    const v = this.zero.slice();
    for (const [name, value] of q) v[this.slots.get(name)!] = value;
    return v;
  }

  private setTotal(agent: AgentEntry, total: readonly Resource[]): void {
    this.chargeAgentTotals(agent, -1);
    agent.total = unallocate(total);
    this.setAvailable(agent, subtractResources(agent.total, heldOn(agent)));
    agent.gpus = hasGpus(agent.total) && this.options.filterGpuResources !== false;
    Object.assign(agent, totalSums(agent.total));
    for (const name of agent.totalQ.keys()) this.slotOf(name);
    this.chargeAgentTotals(agent, 1);
  }

  /** The slot of a scalar name in `names`, registering it when new. */
  private slotOf(name: string): number {
    let i = this.slots.get(name);
    if (i === undefined) {
      this.slots.set(name, (i = this.names.length));
      this.names.push(name);
      this.zero = this.names.map(() => 0.5).fill(0);
    }
    return i;
  }

  /**
   * Sets what the agent has free, with its scalar sums: they are kept up to date here, on every change,
   * so that an allocation cycle does not read the free resources of every agent again.
   */
  private setAvailable(agent: AgentEntry, free: readonly Resource[]): void {
    agent.available = free;
    agent.sums = free.length > 0 ? this.sumsOf(free) : undefined;
  }

  /** Scalar sums over `names` (the same as a cycle's own), reading each resource once. */
  private sumsOf(resources: readonly Resource[]): AvailableSums {
    for (const r of resources) if (r.type === 'SCALAR') this.slotOf(r.name);
    const all = this.zero.slice();
    let unreserved: number[] | undefined;
    let refined = false;
    let plain = true;
    for (const r of resources) {
      const reserved = !isUnreserved(r);
      if (reserved) plain = false;
      if ((r.reservations?.length ?? 0) > 1) refined = true;
      if (r.type !== 'SCALAR') continue;
      const value = toMilli(r.scalar?.value ?? 0);
      if (value <= 0) continue;
      const i = this.slots.get(r.name)!;
      // Until the first reserved scalar, everything so far is unreserved.
      if (reserved && !unreserved) unreserved = all.slice();
      all[i] = all[i]! + value;
      if (!reserved && unreserved) unreserved[i] = unreserved[i]! + value;
    }
    return { resources, all, unreserved: unreserved ?? all, refined, plain };
  }

  private chargeAgentTotals(agent: AgentEntry, sign: 1 | -1): void {
    addInto(this.totals, agent.totalQ, sign);
    for (const [role, q] of agent.reservedQ) {
      const sum = this.reserved.get(role) ?? new Map();
      addInto(sum, q, sign);
      if (sum.size > 0) this.reserved.set(role, sum);
      else this.reserved.delete(role);
    }
  }
}
