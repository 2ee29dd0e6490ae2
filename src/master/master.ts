/**
 * The master: the core (master-core.ts: scheduler API, agent protocol, offers, liveness) plus the operator
 * API — what operators read and set: agents, frameworks, roles and their weights and quotas, offers,
 * draining agents, and tasks (find, kill, output).
 */
import { isTerminal, type Offer } from '../api/mesos.js';
import type { AgentView, FrameworkView, RoleView, TaskView } from '../api/operator.js';
import type { Timer } from '../core/clock.js';
import type { Resource } from '../core/resources.js';
import { AgentNotFoundError, OutputUnavailableError, TaskNotFoundError } from './errors.js';
import type { AgentCall, AgentEvent, OutputRecord } from '../api/agent.js';
import { frameworkRoles, MasterCore, type AgentLive, type MasterOptions } from './master-core.js';
import { computeRoleViews } from './roles.js';
import type { AgentFiles, EventSink, TaskRecord } from './types.js';

/** After a restart, offers wait at most this long for the recovered agents to come back. */
const OFFER_HOLD_AFTER_RECOVERY_MS = 10_000;

export type { MasterOptions };

export class Master extends MasterCore {
  /** Recovered agents that have not re-subscribed yet, while offers are held (see `start`). */
  private awaitedAgents: Set<string> | undefined;
  private offerHold: Timer | undefined;

  override async recover(): Promise<void> {
    await super.recover();
    if (this.agents.size > 0) this.awaitedAgents = new Set(this.agents.keys());
  }

  /**
   * After a restart no offers are made until every recovered agent has re-subscribed (or a few seconds
   * have passed): offers made meanwhile would cover part of the cluster only, and the allocation cycles,
   * offers and declines would slow the agents' re-registration down (Mesos's allocator pauses likewise).
   */
  override start(): void {
    super.start();
    if (!this.awaitedAgents?.size) {
      this.awaitedAgents = undefined;
      return;
    }
    this.allocator.stop();
    this.offerHold = this.clock.setTimeout(() => this.resumeOffers(), OFFER_HOLD_AFTER_RECOVERY_MS);
  }

  override subscribeAgent(
    call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
    sink: EventSink<AgentEvent>,
    files?: AgentFiles,
  ): { streamId: string; agentId: string } {
    const subscribed = super.subscribeAgent(call, sink, files);
    if (this.awaitedAgents?.delete(subscribed.agentId) && this.awaitedAgents.size === 0 && this.offerHold)
      this.resumeOffers();
    return subscribed;
  }

  override async stop(): Promise<void> {
    if (this.offerHold) this.clock.clearTimeout(this.offerHold);
    this.offerHold = undefined;
    this.awaitedAgents = undefined;
    await super.stop();
  }

  private resumeOffers(): void {
    if (!this.offerHold) return;
    this.clock.clearTimeout(this.offerHold);
    this.offerHold = undefined;
    this.awaitedAgents = undefined;
    this.allocator.start();
    this.allocator.requestAllocation();
  }

  // ---- operator API --------------------------------------------------------------------------------

  listAgents(): AgentView[] {
    return [...this.agents.values()].map((a) => ({
      id: a.record.id,
      hostname: a.record.info.hostname,
      address: a.record.info.address ?? null,
      state: a.state,
      drain: a.record.drain?.state ?? null,
      resources: (a.record.total ?? a.record.info.resources) as Resource[],
      used: this.tasks.usedOn(a.record.id),
      attributes: a.record.info.attributes ?? [],
      registered_at: a.record.registered_at,
    }));
  }

  /** How many agents and tasks are in each state: cheap to serve however large the cluster. */
  summary(): { agents: Record<string, number>; tasks: Record<string, number> } {
    const agents: Record<string, number> = {};
    for (const a of this.agents.values()) agents[a.state] = (agents[a.state] ?? 0) + 1;
    const tasks: Record<string, number> = {};
    for (const t of this.tasks.values()) tasks[t.status.state] = (tasks[t.status.state] ?? 0) + 1;
    return { agents, tasks };
  }

  // ---- operator API: roles, offers, maintenance ----------------------------------------------------

  listRoles(): RoleView[] {
    const frameworks = new Map(
      [...this.frameworks.values()].map((f) => [f.record.id, frameworkRoles(f.record.info)]),
    );
    const roleOf = (resources: Resource[], frameworkId: string): string =>
      resources.find((r) => r.allocation_info)?.allocation_info?.role ??
      frameworks.get(frameworkId)?.[0] ??
      '*';
    const holdings = [
      ...[...this.tasks.values()]
        .filter((t) => !isTerminal(t.status.state))
        .map((t) => ({
          role: roleOf(t.task.resources as Resource[], t.framework_id),
          resources: t.task.resources as Resource[],
        })),
      ...[...this.offers.values()].map((o) => ({
        role: roleOf(o.resources as Resource[], o.framework_id.value),
        resources: o.resources as Resource[],
      })),
    ];
    return computeRoleViews(this.policy, frameworks, holdings);
  }

  listOffers(): Offer[] {
    return [...this.offers.values()];
  }

  /** Maintenance: no new tasks go to the agent; its tasks are killed after the grace period. */
  drainAgent(ref: string, graceSeconds: number): string {
    const agent = this.findAgent(ref);
    agent.record = {
      ...agent.record,
      drain: { state: 'DRAINING', since: this.clock.now(), grace_seconds: graceSeconds },
    };
    this.writer.putAgent(agent.record);
    this.allocator.deactivateAgent(agent.record.id);
    for (const [offerId, offer] of this.offers)
      if (offer.agent_id.value === agent.record.id) this.rescindOffer(offerId);
    for (const task of this.tasks.activeOn(agent.record.id)) this.killTask(task.id, undefined, graceSeconds);
    this.checkDrained(agent);
    return agent.record.id;
  }

  reactivateAgent(ref: string): string {
    const agent = this.findAgent(ref);
    agent.record = { ...agent.record, drain: undefined };
    this.writer.putAgent(agent.record);
    if (agent.state === 'ACTIVE') this.allocator.activateAgent(agent.record.id);
    return agent.record.id;
  }

  private findAgent(ref: string): AgentLive {
    const agent =
      this.agents.get(ref) ??
      [...this.agents.values()].find((a) => a.record.id.endsWith(ref) || a.record.info.hostname === ref);
    if (!agent) throw new AgentNotFoundError(ref);
    return agent;
  }

  listFrameworks(): FrameworkView[] {
    return [...this.frameworks.values()].map((f) => ({
      id: f.record.id,
      name: f.record.info.name,
      roles: frameworkRoles(f.record.info),
      active: f.sink !== undefined,
      registered_at: f.record.registered_at,
    }));
  }

  listTasks(options: { all: boolean }): TaskView[] {
    return this.tasks.list(options);
  }

  findTask(ref: string): TaskRecord {
    return this.tasks.find(ref);
  }

  /** Resolves with the task once the master knows it, or undefined after `timeoutMs`. */
  waitForTask(taskId: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    return this.tasks.waitFor(taskId, timeoutMs);
  }

  output(taskId: string, options: { follow: boolean; signal?: AbortSignal }): AsyncIterable<OutputRecord> {
    const task = this.tasks.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    const agent = this.agents.get(task.agent_id);
    const files = agent?.files ?? (agent ? this.options.remoteFiles?.(agent.record) : undefined);
    if (!agent || !files)
      throw new OutputUnavailableError(
        `the agent of task "${taskId}" is not reachable, so its output is not available now`,
      );
    return files.output(taskId, options);
  }
}
