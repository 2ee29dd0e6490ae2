/**
 * The master: the core (master-core.ts: scheduler API, agent protocol, offers, liveness) plus the operator
 * API — what operators read and set: agents, frameworks, roles and their weights and quotas, offers,
 * draining agents, and tasks (find, kill, output).
 */
import { isTerminal, type Offer } from '../api/mesos.js';
import type { AgentView, FrameworkView, RoleView, TaskView } from '../api/operator.js';
import type { Resource } from '../core/resources.js';
import { AgentNotFoundError, OutputUnavailableError, TaskNotFoundError } from './errors.js';
import type { OutputRecord } from '../api/agent.js';
import { frameworkRoles, MasterCore, type AgentLive, type MasterOptions } from './master-core.js';
import { computeRoleViews } from './roles.js';
import type { TaskRecord } from './types.js';

export type { MasterOptions };

export class Master extends MasterCore {
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
