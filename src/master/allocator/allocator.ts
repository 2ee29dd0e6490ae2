/**
 * The allocator owns the bookkeeping of who holds what on which agent, and runs allocation cycles in
 * batches: on an interval and soon after any event that frees or asks for resources. It never imports the
 * master: offers leave through the `offer` callback.
 */
import type { Clock, Timer } from '../../core/clock.js';
import { addResources, subtractResources, type Resource } from '../../core/resources.js';
import { computeAllocation, type AllocationFramework } from './compute-allocation.js';

export interface AllocatorOptions {
  clock: Clock;
  /** Called once per decision; the master turns it into an offer. */
  offer: (frameworkId: string, agentId: string, resources: Resource[]) => void;
  intervalMs?: number;
}

interface AgentEntry {
  total: Resource[];
  /** Per framework: resources offered or used by its tasks on this agent. */
  allocated: Map<string, Resource[]>;
  active: boolean;
}

interface FrameworkEntry {
  role: string;
  active: boolean;
  suppressed: boolean;
  /** agent id → time until which this framework is not offered that agent again. */
  filters: Map<string, number>;
}

export class Allocator {
  private readonly agents = new Map<string, AgentEntry>();
  private readonly frameworks = new Map<string, FrameworkEntry>();
  private readonly roleWeights = new Map<string, number>();
  private interval: Timer | undefined;
  private pending: Timer | undefined;
  private stopped = false;

  constructor(private readonly options: AllocatorOptions) {}

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
  }

  addAgent(id: string, total: Resource[]): void {
    const existing = this.agents.get(id);
    this.agents.set(id, { total, allocated: existing?.allocated ?? new Map(), active: true });
    this.requestAllocation();
  }

  deactivateAgent(id: string): void {
    const agent = this.agents.get(id);
    if (agent) agent.active = false;
  }

  removeAgent(id: string): void {
    this.agents.delete(id);
  }

  addFramework(id: string, role: string): void {
    const existing = this.frameworks.get(id);
    this.frameworks.set(id, {
      role,
      active: true,
      suppressed: false,
      filters: existing?.filters ?? new Map(),
    });
    this.requestAllocation();
  }

  deactivateFramework(id: string): void {
    const f = this.frameworks.get(id);
    if (f) f.active = false;
  }

  removeFramework(id: string): void {
    this.frameworks.delete(id);
    for (const agent of this.agents.values()) agent.allocated.delete(id);
  }

  setRoleWeight(role: string, weight: number): void {
    this.roleWeights.set(role, weight);
  }

  suppress(frameworkId: string): void {
    const f = this.frameworks.get(frameworkId);
    if (f) f.suppressed = true;
  }

  /** Clears the framework's filters and resumes offers (Mesos REVIVE). */
  revive(frameworkId: string): void {
    const f = this.frameworks.get(frameworkId);
    if (!f) return;
    f.suppressed = false;
    f.filters.clear();
    this.requestAllocation();
  }

  /** Records resources as held, e.g. tasks found running after a restart. */
  recordAllocation(frameworkId: string, agentId: string, resources: readonly Resource[]): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    agent.allocated.set(frameworkId, addResources(agent.allocated.get(frameworkId) ?? [], resources));
  }

  /** Gives resources back: an offer declined or partly used, or a task that ended. */
  recoverResources(
    frameworkId: string,
    agentId: string,
    resources: readonly Resource[],
    refuseSeconds?: number,
  ): void {
    const agent = this.agents.get(agentId);
    if (agent) {
      const left = subtractResources(agent.allocated.get(frameworkId) ?? [], resources);
      if (left.length > 0) agent.allocated.set(frameworkId, left);
      else agent.allocated.delete(frameworkId);
    }
    const f = this.frameworks.get(frameworkId);
    if (f && refuseSeconds !== undefined && refuseSeconds > 0) {
      f.filters.set(agentId, this.options.clock.now() + refuseSeconds * 1000);
    }
    this.requestAllocation();
  }

  /** Runs a cycle soon, batching the events that arrive meanwhile. */
  requestAllocation(): void {
    if (this.pending || this.stopped) return;
    this.pending = this.options.clock.setTimeout(() => {
      this.pending = undefined;
      this.allocate();
    }, 0);
  }

  allocate(): void {
    const now = this.options.clock.now();
    const totals = [...this.agents.values()].reduce<Resource[]>((acc, a) => addResources(acc, a.total), []);
    const frameworks: AllocationFramework[] = [];
    for (const [id, f] of this.frameworks) {
      if (!f.active) continue;
      for (const [agentId, until] of f.filters) if (until <= now) f.filters.delete(agentId);
      frameworks.push({
        id,
        role: f.role,
        suppressed: f.suppressed,
        filteredAgents: new Set(f.filters.keys()),
        allocated: this.heldBy(id),
      });
    }
    const agents = [...this.agents]
      .filter(([, a]) => a.active)
      .map(([id, a]) => ({ id, available: subtractResources(a.total, [...a.allocated.values()].flat()) }));
    const decisions = computeAllocation({ agents, frameworks, totals, roleWeights: this.roleWeights });
    for (const d of decisions) {
      this.recordAllocation(d.frameworkId, d.agentId, d.resources);
      this.options.offer(d.frameworkId, d.agentId, d.resources);
    }
  }

  private heldBy(frameworkId: string): Resource[] {
    let held: Resource[] = [];
    for (const agent of this.agents.values())
      held = addResources(held, agent.allocated.get(frameworkId) ?? []);
    return held;
  }
}
