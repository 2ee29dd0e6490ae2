/**
 * The master's core (see master.ts for the operator API on top): pools the agents' resources, offers them to frameworks through the allocator, checks and
 * records what frameworks launch, and relays status updates and acknowledgements between agents and
 * frameworks. It owns the agent, framework, task and offer records; transports (HTTP or in-process)
 * only deliver calls and carry events out through an `EventSink`.
 */
import { randomUUID } from 'node:crypto';
import type { AgentCall, AgentEvent, AgentTaskReport } from '../api/agent.js';
import { isTerminal, type Offer, type TaskInfo, type TaskStatus } from '../api/mesos.js';
import type { AgentView } from '../api/operator.js';
import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { silentLogger, type Logger } from '../core/logger.js';
import {
  checkpointedOf,
  scalarOf,
  subtractResources,
  totalWithCheckpointed,
  type Resource,
} from '../core/resources.js';
import type { StateStore } from '../store/index.js';
import { Allocator } from './allocator/allocator.js';
import { RESOURCE_OPERATIONS, type ResourceOperation } from './allocator/operations.js';
import { RolePolicy, validateRole, type Quota } from './roles.js';
import { AgentNotSubscribedError, FrameworkNotSubscribedError, InvalidCallError } from './errors.js';
import { MasterStateWriter } from './state-writer.js';
import type { AgentFiles, AgentRecord, EventSink, FrameworkRecord, TaskRecord } from './types.js';
import { validateLaunch } from './validate-launch.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { computeAgentTransitions, computeExpiredFrameworks } from './liveness.js';
import { TaskBook } from './task-book.js';
import {
  computePrune,
  DEFAULT_COMPLETED_BOUNDS,
  isCompleted,
  type CompletedFrameworkRecord,
} from './completed.js';

export interface MasterOptions {
  store: StateStore;
  clock?: Clock;
  logger?: Logger;
  allocationIntervalMs?: number;
  heartbeatIntervalSeconds?: number;
  /** How to reach an agent's files when it did not subscribe in-process. */
  remoteFiles?: (agent: AgentRecord) => AgentFiles | undefined;
  /** No word from an agent for this long and it is UNREACHABLE (default 75 s, Mesos's 5 × 15 s). */
  agentTimeoutMs?: number;
  /** UNREACHABLE for this long and the agent is removed, its tasks GONE (default 10 min). */
  agentRemovalMs?: number;
  /** An offer not answered within this time is rescinded (default 60 s; 0 never). */
  offerTimeoutMs?: number;
  /** Completed tasks kept per framework, the newest (default 1000, as Mesos); see completed.ts. */
  maxCompletedTasksPerFramework?: number;
  /** Torn-down frameworks kept with their completed tasks (default 50, as Mesos). */
  maxCompletedFrameworks?: number;
}

export interface FrameworkLive {
  record: FrameworkRecord;
  sink?: EventSink<SchedulerEvent>;
  streamId?: string;
  /** When the subscription went away; the failover timeout counts from here. */
  disconnectedAt?: number;
}

export interface AgentLive {
  record: AgentRecord;
  state: AgentView['state'];
  sink?: EventSink<AgentEvent>;
  streamId?: string;
  files?: AgentFiles;
  lastSeen: number;
  unreachableSince?: number;
}

const DEFAULT_KILL_GRACE_SECONDS = 10;
const MAX_REMEMBERED_OFFERS = 100_000;
/**
 * After a restart, offers wait for the recovered agents to come back: until none has come back for this
 * long, and at most OFFER_HOLD_MAX_MS in all.
 */
const OFFER_HOLD_AFTER_RECOVERY_MS = 10_000;
const OFFER_HOLD_MAX_MS = 60_000;

export class MasterCore {
  readonly clock: Clock;
  protected readonly logger: Logger;
  protected readonly writer: MasterStateWriter;
  protected readonly allocator: Allocator;
  protected readonly frameworks = new Map<string, FrameworkLive>();
  protected readonly agents = new Map<string, AgentLive>();
  protected readonly tasks = new TaskBook();
  protected readonly offers = new Map<string, Offer>();
  /** Offer ids made recently, and to whom: an ACCEPT of an id never made is a bad call, not a stale one. */
  protected readonly issuedOffers = new Map<string, string>();
  protected readonly frameworkStreams = new Map<string, string>();
  protected readonly agentStreams = new Map<string, string>();
  protected heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  protected livenessTimer: ReturnType<typeof setInterval> | undefined;
  /** Agents removed after being unreachable too long: if one comes back, its tasks are killed. */
  protected readonly removedAgents = new Set<string>();
  protected readonly policy = new RolePolicy();
  /** Torn-down frameworks still remembered, the oldest teardown first (see completed.ts). */
  protected readonly completedFrameworks = new Map<string, CompletedFrameworkRecord>();
  /** Recovered agents that have not re-subscribed yet, while offers are held (see `start`). */
  private awaitedAgents: Set<string> | undefined;
  private offerHold: Timer | undefined;
  private offerHoldEnds = 0;

  constructor(protected readonly options: MasterOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.writer = new MasterStateWriter(options.store, this.logger);
    this.allocator = new Allocator({
      clock: this.clock,
      intervalMs: options.allocationIntervalMs,
      allocationInfo: true,
      offer: (frameworkId, agentId, resources) => this.sendOffer(frameworkId, agentId, resources),
    });
  }

  /** Loads frameworks, agents and tasks from the store. Agents stay DISCONNECTED until they re-subscribe. */
  async recover(): Promise<void> {
    const state = await this.writer.load();
    const now = this.clock.now();
    // Everyone gets the full timeouts, counted from this start, to come back. A framework's failover
    // timeout starts once the agents' re-registration window has passed (after a master failover even a
    // framework with failover_timeout 0 gets that long to re-subscribe).
    for (const record of state.frameworks)
      this.frameworks.set(record.id, { record, disconnectedAt: now + this.agentTimeoutMs });
    for (const record of state.agents)
      this.agents.set(record.id, { record, state: 'DISCONNECTED', lastSeen: now });
    for (const id of state.removedAgents) this.removedAgents.add(id);
    for (const task of state.tasks) this.tasks.set(task);
    this.recoverCompleted(state.completedFrameworks);
    if (this.agents.size > 0) this.awaitedAgents = new Set(this.agents.keys());
    const policy = await this.writer.loadPolicy();
    for (const [role, weight] of policy.weights) this.setWeight(role, weight);
    for (const [role, quota] of policy.quotas) this.setQuota(role, quota as Quota);
    this.logger.info(
      { frameworks: state.frameworks.length, agents: state.agents.length, tasks: state.tasks.length },
      'master recovered',
    );
  }

  /**
   * After a restart no offers are made until every recovered agent has re-subscribed (or a few seconds
   * have passed): offers made meanwhile would cover part of the cluster only, and the allocation cycles,
   * offers and declines would slow the agents' re-registration down (Mesos's allocator pauses likewise).
   */
  start(): void {
    if (this.awaitedAgents?.size) {
      this.allocator.stop();
      this.offerHoldEnds = this.clock.now() + OFFER_HOLD_MAX_MS;
      this.offerHold = this.clock.setTimeout(() => this.resumeOffers(), OFFER_HOLD_AFTER_RECOVERY_MS);
    } else {
      this.awaitedAgents = undefined;
      this.allocator.start();
    }
    const seconds = this.options.heartbeatIntervalSeconds ?? 15;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), seconds * 1000);
    this.heartbeatTimer.unref();
    this.livenessTimer = setInterval(() => this.checkLiveness(), Math.min(1000, this.agentTimeoutMs / 4));
    this.livenessTimer.unref();
  }

  protected get agentTimeoutMs(): number {
    return this.options.agentTimeoutMs ?? 75_000;
  }

  /** Applies the liveness decisions: unreachable agents, removed agents, expired frameworks. */
  protected checkLiveness(): void {
    const now = this.clock.now();
    const agents = [...this.agents.values()].map((a) => ({
      id: a.record.id,
      state: a.state,
      lastSeen: a.lastSeen,
      unreachableSince: a.unreachableSince,
    }));
    const { unreachable, remove } = computeAgentTransitions(agents, now, {
      agentTimeoutMs: this.agentTimeoutMs,
      agentRemovalMs: this.options.agentRemovalMs ?? 600_000,
    });
    for (const id of unreachable) this.markUnreachable(id);
    for (const id of remove) this.removeAgent(id);
    const frameworks = [...this.frameworks.values()].map((f) => ({
      id: f.record.id,
      disconnectedAt: f.disconnectedAt,
      failoverTimeoutSeconds: f.record.info.failover_timeout ?? 0,
    }));
    for (const id of computeExpiredFrameworks(frameworks, now)) {
      this.logger.warn({ framework: id }, 'framework failover timeout expired: tearing it down');
      this.teardown(id);
    }
  }

  /**
   * A recovered agent came back: offers resume once all have, else the hold lasts while they keep coming
   * (offers to a partly re-registered cluster, and their declines and rescinds, slowed the stragglers
   * down to a crawl at 10k agents).
   */
  private extendOfferHold(): void {
    if (!this.offerHold) return;
    if (this.awaitedAgents?.size === 0) return this.resumeOffers();
    this.clock.clearTimeout(this.offerHold);
    const wait = Math.min(OFFER_HOLD_AFTER_RECOVERY_MS, Math.max(0, this.offerHoldEnds - this.clock.now()));
    this.offerHold = this.clock.setTimeout(() => this.resumeOffers(), wait);
  }

  private resumeOffers(): void {
    if (!this.offerHold) return;
    this.clock.clearTimeout(this.offerHold);
    this.offerHold = undefined;
    this.awaitedAgents = undefined;
    this.allocator.start();
    this.allocator.requestAllocation();
  }

  async stop(): Promise<void> {
    if (this.offerHold) this.clock.clearTimeout(this.offerHold);
    this.offerHold = undefined;
    this.awaitedAgents = undefined;
    this.allocator.stop();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    for (const f of this.frameworks.values()) f.sink?.close('master stopping');
    for (const a of this.agents.values()) a.sink?.close('master stopping');
    await this.writer.flush();
  }

  // ---- scheduler API -------------------------------------------------------------------------------

  subscribeFramework(
    call: SchedulerCall,
    sink: EventSink<SchedulerEvent>,
  ): { streamId: string; frameworkId: string } {
    const info = call.subscribe?.framework_info;
    if (!info) throw new InvalidCallError('SUBSCRIBE needs subscribe.framework_info');
    const requested = info.id?.value ?? call.framework_id?.value;
    const id = requested ?? newId(this.clock.now());
    const previous = this.frameworks.get(id);
    if (previous?.sink) {
      previous.sink.send({
        type: 'ERROR',
        error: { message: 'framework failed over to a new subscription' },
      });
      previous.sink.close();
      if (previous.streamId) this.frameworkStreams.delete(previous.streamId);
    }
    const roles = frameworkRoles(info);
    for (const r of roles) validateRole(r);
    const role = roles[0]!;
    const record: FrameworkRecord = {
      id,
      info: { ...info, id: { value: id } },
      role,
      registered_at: previous?.record.registered_at ?? this.clock.now(),
    };
    const streamId = randomUUID();
    this.frameworks.set(id, { record, sink, streamId, disconnectedAt: undefined });
    this.frameworkStreams.set(streamId, id);
    this.writer.putFramework(record);
    if (this.completedFrameworks.delete(id)) this.writer.deleteCompletedFramework(id);
    sink.send({
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: id },
        heartbeat_interval_seconds: this.options.heartbeatIntervalSeconds ?? 15,
      },
    });
    // Its tasks' resources are already recorded: at launch, or when their agents (re-)subscribed.
    this.allocator.addFramework(id, roles, { capabilities: (info.capabilities ?? []).map((c) => c.type) });
    this.logger.info({ framework: id, name: info.name, roles }, 'framework subscribed');
    return { streamId, frameworkId: id };
  }

  /** The subscription's HTTP stream or callback went away. Its tasks keep running. */
  disconnectFramework(streamId: string): void {
    const id = this.frameworkStreams.get(streamId);
    if (!id) return;
    this.frameworkStreams.delete(streamId);
    const f = this.frameworks.get(id);
    if (!f || f.streamId !== streamId) return;
    f.sink = undefined;
    f.streamId = undefined;
    f.disconnectedAt = this.clock.now();
    this.allocator.deactivateFramework(id);
    for (const [offerId, offer] of this.offers)
      if (offer.framework_id.value === id) this.removeOffer(offerId);
    this.logger.info({ framework: id }, 'framework disconnected');
  }

  handleSchedulerCall(streamId: string, call: SchedulerCall): void {
    const frameworkId = this.frameworkStreams.get(streamId);
    if (!frameworkId || (call.framework_id && call.framework_id.value !== frameworkId))
      throw new FrameworkNotSubscribedError(streamId);
    switch (call.type) {
      case 'ACCEPT':
        return this.accept(frameworkId, call);
      case 'DECLINE':
        for (const id of call.decline?.offer_ids ?? [])
          this.removeOffer(id.value, call.decline?.filters?.refuse_seconds ?? 5);
        return;
      case 'REVIVE':
        return this.allocator.revive(frameworkId, call.revive?.roles);
      case 'SUPPRESS':
        return this.allocator.suppress(frameworkId, call.suppress?.roles);
      case 'KILL':
        if (!call.kill) throw new InvalidCallError('KILL needs kill.task_id');
        return this.killTask(call.kill.task_id.value, frameworkId);
      case 'ACKNOWLEDGE':
        return this.acknowledge(frameworkId, call);
      case 'RECONCILE':
        return this.reconcile(frameworkId, call);
      case 'TEARDOWN':
        return this.teardown(frameworkId);
      case 'SHUTDOWN': {
        // berth runs no custom executors: each task is its own executor, with the task's id.
        const executor = call.shutdown?.executor_id.value;
        if (!executor) throw new InvalidCallError('SHUTDOWN needs shutdown.executor_id');
        return this.killTask(executor, frameworkId);
      }
      case 'MESSAGE':
        throw new InvalidCallError(
          'MESSAGE goes to a custom executor, and berth runs none: tasks are their own executors',
        );
      case 'SUBSCRIBE':
        throw new InvalidCallError('SUBSCRIBE must be the first call of a new stream');
      default:
        throw new InvalidCallError(`${call.type} is not supported yet`);
    }
  }

  protected accept(frameworkId: string, call: SchedulerCall): void {
    const accept = call.accept;
    if (!accept) throw new InvalidCallError('ACCEPT needs accept.offer_ids and accept.operations');
    if (accept.offer_ids.length === 0) throw new InvalidCallError('ACCEPT needs at least one offer id');
    for (const id of accept.offer_ids) {
      if (this.issuedOffers.get(id.value) !== frameworkId)
        throw new InvalidCallError(`offer "${id.value}" was never made to this framework`);
    }
    const offers = accept.offer_ids.map((id) => this.offers.get(id.value));
    const valid = offers.filter((o): o is Offer => o !== undefined);
    const launches = accept.operations.flatMap((op) =>
      op.type === 'LAUNCH'
        ? (op.launch?.task_infos ?? [])
        : op.type === 'LAUNCH_GROUP'
          ? (op.launch_group?.task_group.tasks ?? [])
          : [],
    );
    for (const offer of valid) this.offers.delete(offer.id.value);
    const agentId = valid[0]?.agent_id.value;
    let offered = valid.flatMap((o) => o.resources as Resource[]);
    let problem =
      valid.length !== offers.length
        ? 'an offer is no longer valid (rescinded, declined or used)'
        : new Set(valid.map((o) => o.agent_id.value)).size > 1
          ? 'offers from different agents cannot be combined'
          : undefined;
    if (problem === undefined && agentId !== undefined) {
      const converted = this.applyOfferOperations(frameworkId, agentId, offered, accept.operations);
      if (converted.ok) offered = converted.offered;
      else problem = converted.reason;
    }
    const role = offered.find((r) => r.allocation_info)?.allocation_info?.role;
    // Mesos injects the offer's role into the tasks of frameworks that do not name it themselves.
    if (role !== undefined)
      for (const task of launches) task.resources = allocatedTo(task.resources as Resource[], role);
    problem ??= validateLaunch(launches, offered, agentId, (id) => this.tasks.has(id));
    const refuse = accept.filters?.refuse_seconds ?? 5;
    if (problem !== undefined || agentId === undefined) {
      for (const task of launches)
        this.sendFrameworkUpdate(
          frameworkId,
          dropStatus(task, problem ?? 'no valid offer', this.clock.now()),
        );
      if (agentId !== undefined) this.allocator.recoverResources(frameworkId, agentId, offered, refuse);
      return;
    }
    let used: Resource[] = [];
    for (const task of launches) {
      used = [...used, ...(task.resources as Resource[])];
      this.launchTask(frameworkId, agentId, task);
    }
    const unused = subtractResources(offered, used);
    this.allocator.recoverResources(frameworkId, agentId, unused, refuse);
  }

  /** RESERVE, UNRESERVE, CREATE and DESTROY in an ACCEPT: the offer and the agent's total change together. */
  protected applyOfferOperations(
    frameworkId: string,
    agentId: string,
    offered: Resource[],
    operations: NonNullable<SchedulerCall['accept']>['operations'],
  ): { ok: true; offered: Resource[] } | { ok: false; reason: string } {
    const ops = operations.filter((op) => RESOURCE_OPERATIONS.has(op.type)) as ResourceOperation[];
    if (ops.length === 0) return { ok: true, offered };
    const framework = this.frameworks.get(frameworkId);
    const ctx = {
      roles: framework ? frameworkRoles(framework.record.info) : [],
      ...(framework?.record.info.principal ? { principal: framework.record.info.principal } : {}),
      tasks: this.tasks
        .activeOn(agentId)
        .map((t) => ({ id: t.id, resources: t.task.resources as Resource[] })),
    };
    const result = this.allocator.updateAllocation(frameworkId, agentId, offered, ops, ctx);
    if (!result.ok) return result;
    const agent = this.agents.get(agentId);
    if (agent) {
      agent.record = { ...agent.record, total: result.total };
      this.writer.putAgent(agent.record);
      agent.sink?.send({
        type: 'CHECKPOINT_RESOURCES',
        checkpoint_resources: { resources: checkpointedOf(result.total) },
      });
    }
    return { ok: true, offered: result.offered };
  }

  /**
   * Operator RESERVE/UNRESERVE/CREATE/DESTROY on an agent's unallocated resources (`ref`: id, id suffix or
   * hostname). Its outstanding offers are rescinded first, as Mesos does. Returns the agent's new total.
   */
  operateOnAgent(ref: string, op: ResourceOperation, principal?: string): { id: string; total: Resource[] } {
    const agent =
      this.agents.get(ref) ??
      [...this.agents.values()].find((a) => a.record.id.endsWith(ref) || a.record.info.hostname === ref);
    if (!agent) throw new NotFoundError(`agent "${ref}" is not known`);
    const id = agent.record.id;
    for (const [offerId, offer] of this.offers) if (offer.agent_id.value === id) this.rescindOffer(offerId);
    const ctx = {
      tasks: this.tasks.activeOn(id).map((t) => ({ id: t.id, resources: t.task.resources as Resource[] })),
      ...(principal !== undefined ? { principal } : {}),
    };
    const result = this.allocator.updateAvailable(id, [op], ctx);
    if (!result.ok) throw new ConflictError(result.reason);
    agent.record = { ...agent.record, total: result.total };
    this.writer.putAgent(agent.record);
    agent.sink?.send({
      type: 'CHECKPOINT_RESOURCES',
      checkpoint_resources: { resources: checkpointedOf(result.total) },
    });
    return { id, total: result.total };
  }

  protected launchTask(frameworkId: string, agentId: string, task: TaskInfo): void {
    const now = this.clock.now();
    const status: TaskStatus = {
      task_id: task.task_id,
      agent_id: { value: agentId },
      state: 'TASK_STAGING',
      source: 'SOURCE_MASTER',
      timestamp: now / 1000,
    };
    const record: TaskRecord = {
      id: task.task_id.value,
      framework_id: frameworkId,
      agent_id: agentId,
      task,
      status,
      created_at: now,
      updated_at: now,
    };
    this.tasks.set(record);
    this.writer.putTask(record);
    const agent = this.agents.get(agentId);
    const framework = this.frameworks.get(frameworkId);
    if (!agent?.sink || !framework) {
      this.applyStatus(record, {
        ...status,
        state: 'TASK_LOST',
        message: 'agent disconnected before the launch',
        timestamp: now / 1000,
      });
      return;
    }
    agent.sink.send({
      type: 'LAUNCH',
      launch: { framework_id: { value: frameworkId }, framework_info: framework.record.info, task },
    });
  }

  protected acknowledge(frameworkId: string, call: SchedulerCall): void {
    const ack = call.acknowledge;
    if (!ack) throw new InvalidCallError('ACKNOWLEDGE needs acknowledge.agent_id, task_id and uuid');
    const task = this.tasks.get(ack.task_id.value);
    // A forgotten task's update may still be resent by its agent (see handleAgentCall): pass the ack on.
    if (task && task.framework_id !== frameworkId) return;
    if (
      task &&
      isTerminal(task.status.state) &&
      task.status.uuid === ack.uuid &&
      task.acknowledged !== ack.uuid
    ) {
      const acked: TaskRecord = { ...task, acknowledged: ack.uuid };
      this.tasks.set(acked);
      this.writer.putTask(acked);
      this.noteCompleted(acked);
    }
    this.agents
      .get(ack.agent_id.value)
      ?.sink?.send({ type: 'ACKNOWLEDGED', acknowledged: { task_id: ack.task_id, uuid: ack.uuid } });
  }

  /** Answers with the latest known state of the named tasks, or of all the framework's tasks. */
  protected reconcile(frameworkId: string, call: SchedulerCall): void {
    const asked = call.reconcile?.tasks ?? [];
    const ids =
      asked.length > 0
        ? asked.map((t) => t.task_id.value)
        : [...this.tasks.values()]
            .filter((t) => t.framework_id === frameworkId && !isTerminal(t.status.state))
            .map((t) => t.id);
    const agentOf = new Map(asked.map((t) => [t.task_id.value, t.agent_id?.value]));
    for (const id of ids) {
      const task = this.tasks.get(id);
      const status: TaskStatus =
        task && task.framework_id === frameworkId
          ? { ...task.status, uuid: undefined, reason: 'REASON_RECONCILIATION' }
          : this.forgottenTaskStatus(id, agentOf.get(id));
      this.sendFrameworkUpdate(frameworkId, status);
    }
  }

  protected teardown(frameworkId: string): void {
    for (const task of this.tasks.values())
      if (task.framework_id === frameworkId && !isTerminal(task.status.state))
        this.killTask(task.id, frameworkId);
    const f = this.frameworks.get(frameworkId);
    if (f?.streamId) this.disconnectFramework(f.streamId);
    f?.sink?.close('framework torn down');
    this.frameworks.delete(frameworkId);
    this.allocator.removeFramework(frameworkId);
    this.writer.deleteFramework(frameworkId);
    if (f) this.rememberTornDown(f.record);
  }

  // ---- agent protocol ------------------------------------------------------------------------------

  subscribeAgent(
    call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
    sink: EventSink<AgentEvent>,
    files?: AgentFiles,
  ): { streamId: string; agentId: string } {
    const info = call.subscribe.agent_info;
    const claimed = info.id?.value;
    const comesBackRemoved = claimed !== undefined && this.removedAgents.has(claimed);
    // A removed agent's tasks were declared GONE: it joins again as a new agent, and those tasks are killed.
    const id = claimed !== undefined && !comesBackRemoved ? claimed : newId(this.clock.now());
    // Checked before anything changes: compact reports of tasks this master does not know are refused.
    const reports = expandTaskReports(id, call.subscribe, (taskId) => this.tasks.get(taskId));
    const previous = this.agents.get(id);
    if (previous?.streamId) this.agentStreams.delete(previous.streamId);
    previous?.sink?.close('agent re-subscribed');
    // Dynamic reservations and volumes made on this agent still hold if it reports the same resources.
    const sameResources =
      previous && JSON.stringify(previous.record.info.resources) === JSON.stringify(info.resources);
    const record: AgentRecord = {
      id,
      info: { ...info, id: { value: id } },
      registered_at: previous?.record.registered_at ?? this.clock.now(),
      ...(sameResources && previous.record.total ? { total: previous.record.total } : {}),
      // What the agent checkpointed wins (Mesos's checkpointed resources).
      ...(call.subscribe.checkpointed_resources
        ? {
            total: totalWithCheckpointed(info.resources as Resource[], call.subscribe.checkpointed_resources),
          }
        : {}),
      ...(previous?.record.drain ? { drain: previous.record.drain } : {}),
    };
    for (const [offerId, offer] of this.offers) if (offer.agent_id.value === id) this.rescindOffer(offerId);
    const streamId = randomUUID();
    this.agents.set(id, { record, state: 'ACTIVE', sink, streamId, files, lastSeen: this.clock.now() });
    this.agentStreams.set(streamId, id);
    this.writer.putAgent(record);
    sink.send({
      type: 'SUBSCRIBED',
      subscribed: {
        agent_id: { value: id },
        heartbeat_interval_seconds: this.options.heartbeatIntervalSeconds ?? 15,
        compact_reports: true,
      },
    });
    // The allocator learns this agent afresh: its total, then what the tasks running there hold.
    this.allocator.removeAgent(id);
    this.allocator.addAgent(id, (record.total ?? info.resources) as Resource[], {
      active: record.drain === undefined,
    });
    if (comesBackRemoved) {
      for (const report of reports) {
        if (isTerminal(report.status.state)) continue;
        sink.send({
          type: 'KILL',
          kill: { framework_id: report.framework_id, task_id: report.task.task_id, grace_period_seconds: 0 },
        });
      }
    } else this.reconcileAgent(id, reports);
    for (const task of this.tasks.activeOn(id))
      this.allocator.recordAllocation(task.framework_id, id, task.task.resources as Resource[]);
    this.logger.info({ agent: id, hostname: info.hostname }, 'agent subscribed');
    if (this.awaitedAgents?.delete(id)) this.extendOfferHold();
    return { streamId, agentId: id };
  }

  /** Tasks the master placed on this agent but the agent does not report are lost. */
  protected reconcileAgent(agentId: string, reports: AgentTaskReport[]): void {
    const reported = new Map(reports.map((r) => [r.task.task_id.value, r]));
    for (const report of reports) {
      const known = this.tasks.get(report.task.task_id.value);
      if (known && isTerminal(known.status.state) && !isTerminal(report.status.state)) {
        // The master gave this task up (LOST or GONE) while the agent was away: it must not run on.
        this.agents.get(agentId)?.sink?.send({
          type: 'KILL',
          kill: {
            framework_id: report.framework_id,
            task_id: report.task.task_id,
            grace_period_seconds: 0,
          },
        });
      } else if (known && known.status.state !== report.status.state) {
        // e.g. UNREACHABLE while the agent was away, and RUNNING again now: tell the framework.
        this.applyStatus(known, { ...report.status, uuid: undefined, reason: 'REASON_AGENT_REREGISTERED' });
      }
      // An ended task the master does not know was forgotten (completed.ts): not brought back. If its
      // terminal update was not acknowledged, the agent resends it and handleAgentCall passes it on.
      if (!known && !isTerminal(report.status.state)) {
        const now = this.clock.now();
        const record: TaskRecord = {
          id: report.task.task_id.value,
          framework_id: report.framework_id.value,
          agent_id: agentId,
          task: report.task,
          status: report.status,
          created_at: now,
          updated_at: now,
        };
        this.tasks.set(record);
        this.writer.putTask(record);
      }
    }
    for (const task of this.tasks.activeOn(agentId)) {
      if (task.agent_id !== agentId || isTerminal(task.status.state) || reported.has(task.id)) continue;
      this.applyStatus(task, {
        ...task.status,
        state: 'TASK_LOST',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_RESTARTED',
        message: 'the agent does not know this task',
        uuid: undefined,
        timestamp: this.clock.now() / 1000,
      });
    }
  }

  disconnectAgent(streamId: string): void {
    const id = this.agentStreams.get(streamId);
    if (!id) return;
    this.agentStreams.delete(streamId);
    const agent = this.agents.get(id);
    if (!agent || agent.streamId !== streamId) return;
    agent.sink = undefined;
    agent.streamId = undefined;
    agent.state = 'DISCONNECTED';
    this.allocator.deactivateAgent(id);
    for (const [offerId, offer] of this.offers) if (offer.agent_id.value === id) this.rescindOffer(offerId);
    this.logger.warn({ agent: id }, 'agent disconnected');
  }

  /** Silent too long: no new work goes there, and its tasks are UNREACHABLE until it returns. */
  protected markUnreachable(id: string): void {
    const agent = this.agents.get(id);
    if (!agent) return;
    if (agent.streamId) this.agentStreams.delete(agent.streamId);
    agent.sink?.close('agent missed its heartbeats');
    agent.sink = undefined;
    agent.streamId = undefined;
    agent.state = 'UNREACHABLE';
    agent.unreachableSince = this.clock.now();
    this.allocator.deactivateAgent(id);
    for (const [offerId, offer] of this.offers) if (offer.agent_id.value === id) this.rescindOffer(offerId);
    this.logger.warn({ agent: id }, 'agent unreachable');
    for (const task of this.tasks.activeOn(id)) {
      if (task.agent_id !== id || isTerminal(task.status.state)) continue;
      this.applyStatus(task, {
        ...task.status,
        state: 'TASK_UNREACHABLE',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_UNREACHABLE',
        message: 'the agent missed its heartbeats',
        uuid: undefined,
        timestamp: this.clock.now() / 1000,
      });
    }
  }

  /** Unreachable too long: the agent is forgotten and its tasks are GONE. */
  protected removeAgent(id: string): void {
    for (const task of this.tasks.activeOn(id)) {
      if (task.agent_id !== id || isTerminal(task.status.state)) continue;
      this.applyStatus(task, {
        ...task.status,
        state: 'TASK_GONE',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED',
        message: 'the agent was unreachable too long and was removed',
        uuid: undefined,
        timestamp: this.clock.now() / 1000,
      });
    }
    this.agents.delete(id);
    this.removedAgents.add(id);
    this.allocator.removeAgent(id);
    this.writer.removeAgent(id);
    // Terminal updates still waiting for an acknowledgement can no longer be resent by this agent.
    for (const task of this.tasks.onAgent(id)) this.noteCompleted(task);
    for (const f of this.frameworks.values())
      f.sink?.send({ type: 'FAILURE', failure: { agent_id: { value: id } } });
    this.logger.warn({ agent: id }, 'agent removed');
  }

  handleAgentCall(streamId: string, call: AgentCall): void {
    const agentId = this.agentStreams.get(streamId);
    if (!agentId) throw new AgentNotSubscribedError(streamId);
    const agent = this.agents.get(agentId);
    if (agent) agent.lastSeen = this.clock.now();
    if (call.type === 'HEARTBEAT') return;
    if (call.type !== 'UPDATE')
      throw new InvalidCallError(`agent call ${call.type} is not valid on an open stream`);
    const task = this.tasks.get(call.update.status.task_id.value);
    if (!task) {
      // e.g. a completed task already forgotten whose acknowledgement the agent missed: the framework
      // acknowledges it again, so the agent stops resending it.
      this.logger.warn({ task: call.update.status.task_id.value }, 'update for an unknown task');
      this.sendFrameworkUpdate(call.update.framework_id.value, {
        ...call.update.status,
        agent_id: { value: agentId },
      });
      return;
    }
    this.applyStatus(task, { ...call.update.status, agent_id: { value: agentId } });
  }

  protected applyStatus(task: TaskRecord, status: TaskStatus): void {
    const wasTerminal = isTerminal(task.status.state);
    const updated: TaskRecord = { ...task, status, updated_at: this.clock.now() };
    this.tasks.set(updated);
    this.writer.putTask(updated);
    this.noteCompleted(updated);
    if (!wasTerminal && isTerminal(status.state)) {
      this.allocator.recoverResources(task.framework_id, task.agent_id, task.task.resources as Resource[]);
      const agent = this.agents.get(task.agent_id);
      if (agent) this.checkDrained(agent);
    }
    this.sendFrameworkUpdate(task.framework_id, status);
  }

  // ---- offers --------------------------------------------------------------------------------------

  protected sendOffer(frameworkId: string, agentId: string, resources: Resource[]): void {
    const framework = this.frameworks.get(frameworkId);
    const agent = this.agents.get(agentId);
    if (!framework?.sink || !agent) {
      this.allocator.recoverResources(frameworkId, agentId, resources);
      return;
    }
    const offer: Offer = {
      id: { value: newId(this.clock.now()) },
      framework_id: { value: frameworkId },
      agent_id: { value: agentId },
      hostname: agent.record.info.hostname,
      resources,
      attributes: agent.record.info.attributes ?? [],
    };
    this.offers.set(offer.id.value, offer);
    this.issuedOffers.set(offer.id.value, frameworkId);
    if (this.issuedOffers.size > MAX_REMEMBERED_OFFERS)
      this.issuedOffers.delete(this.issuedOffers.keys().next().value!);
    framework.sink.send({ type: 'OFFERS', offers: { offers: [offer] } });
    const timeout = this.options.offerTimeoutMs ?? 60_000;
    if (timeout > 0) this.clock.setTimeout(() => this.rescindOffer(offer.id.value), timeout);
  }

  protected removeOffer(offerId: string, refuseSeconds?: number): void {
    const offer = this.offers.get(offerId);
    if (!offer) return;
    this.offers.delete(offerId);
    this.allocator.recoverResources(
      offer.framework_id.value,
      offer.agent_id.value,
      offer.resources as Resource[],
      refuseSeconds,
    );
  }

  protected rescindOffer(offerId: string): void {
    const offer = this.offers.get(offerId);
    if (!offer) return;
    this.frameworks
      .get(offer.framework_id.value)
      ?.sink?.send({ type: 'RESCIND', rescind: { offer_id: offer.id } });
    this.removeOffer(offerId);
  }

  protected sendFrameworkUpdate(frameworkId: string, status: TaskStatus): void {
    this.frameworks.get(frameworkId)?.sink?.send({ type: 'UPDATE', update: { status } });
  }

  protected heartbeat(): void {
    for (const f of this.frameworks.values()) f.sink?.send({ type: 'HEARTBEAT' });
    for (const a of this.agents.values()) a.sink?.send({ type: 'PING' });
  }

  setWeight(role: string, weight: number): void {
    this.policy.setWeight(role, weight);
    this.allocator.setWeight(role, weight);
    this.writer.putPolicy('weights', role, weight);
  }
  /** An empty guarantee and limit removes the role's quota. */
  setQuota(role: string, quota: Quota): void {
    this.policy.setQuota(role, quota);
    const quotaOf = (list: Resource[]): Record<string, number> =>
      Object.fromEntries(
        list.filter((r) => r.type === 'SCALAR').map((r) => [r.name, scalarOf(list, r.name)]),
      );
    if (this.policy.quotas.has(role))
      this.allocator.setQuota(role, { guarantees: quotaOf(quota.guarantees), limits: quotaOf(quota.limits) });
    else this.allocator.removeQuota(role);
    this.writer.putPolicy('quotas', role, this.policy.quotas.get(role));
  }
  protected checkDrained(agent: AgentLive): void {
    const drain = agent.record.drain;
    if (drain?.state !== 'DRAINING' || this.tasks.activeOn(agent.record.id).length > 0) return;
    agent.record = { ...agent.record, drain: { ...drain, state: 'DRAINED' } };
    this.writer.putAgent(agent.record);
  }
  /** Operator kill (berth's extension), and the scheduler's KILL: SIGTERM, then SIGKILL after the grace. */
  killTask(taskId: string, frameworkId?: string, graceSeconds?: number): void {
    const task = this.tasks.get(taskId);
    if (!task || (frameworkId !== undefined && task.framework_id !== frameworkId)) {
      if (frameworkId)
        this.sendFrameworkUpdate(frameworkId, {
          task_id: { value: taskId },
          state: 'TASK_UNKNOWN',
          source: 'SOURCE_MASTER',
          message: 'unknown task',
          timestamp: this.clock.now() / 1000,
        });
      return;
    }
    if (isTerminal(task.status.state)) return;
    const agent = this.agents.get(task.agent_id);
    const policy = task.task.kill_policy?.grace_period.nanoseconds;
    const grace = graceSeconds ?? (policy !== undefined ? policy / 1e9 : DEFAULT_KILL_GRACE_SECONDS);
    agent?.sink?.send({
      type: 'KILL',
      kill: {
        framework_id: { value: task.framework_id },
        task_id: { value: taskId },
        grace_period_seconds: grace,
      },
    });
  }

  // ---- completed tasks and frameworks (completed.ts) ----------------------------------------------

  protected get completedBounds(): { maxTasksPerFramework: number; maxFrameworks: number } {
    return {
      maxTasksPerFramework:
        this.options.maxCompletedTasksPerFramework ?? DEFAULT_COMPLETED_BOUNDS.maxTasksPerFramework,
      maxFrameworks: this.options.maxCompletedFrameworks ?? DEFAULT_COMPLETED_BOUNDS.maxFrameworks,
    };
  }

  /** If the task is completed, it joins its framework's completed tasks, and the oldest beyond the bound go. */
  protected noteCompleted(task: TaskRecord): void {
    const context = {
      frameworkActive: this.frameworks.has(task.framework_id),
      agentRemoved: this.removedAgents.has(task.agent_id),
    };
    if (!isCompleted(task, context)) return;
    this.tasks.markCompleted(task);
    this.pruneCompleted([task.framework_id]);
  }

  /** Applies computePrune to the book and the store (for the named frameworks, or for all). */
  protected pruneCompleted(frameworkIds?: string[]): void {
    const plan = computePrune(
      {
        completed: this.tasks.completedCounts(frameworkIds),
        isActive: (id) => this.frameworks.has(id),
        removed: [...this.completedFrameworks.keys()],
      },
      this.completedBounds,
    );
    for (const id of plan.frameworks) {
      this.completedFrameworks.delete(id);
      this.writer.deleteCompletedFramework(id);
    }
    for (const [frameworkId, count] of plan.tasks)
      for (const id of this.tasks.dropOldestCompleted(frameworkId, count)) this.writer.deleteTask(id);
    // The tasks of frameworks forgotten just now go too.
    if (frameworkIds !== undefined && plan.frameworks.length > 0) this.pruneCompleted(plan.frameworks);
  }

  /** A torn-down framework is remembered, with its completed tasks, among the newest few. */
  protected rememberTornDown(record: FrameworkRecord): void {
    const completed: CompletedFrameworkRecord = { ...record, unregistered_at: this.clock.now() };
    this.completedFrameworks.delete(record.id);
    this.completedFrameworks.set(record.id, completed);
    this.writer.putCompletedFramework(completed);
    // Its terminal updates can no longer be acknowledged: they are completed now, oldest first.
    const ended = [...this.tasks.values()]
      .filter((t) => t.framework_id === record.id && isTerminal(t.status.state))
      .sort((a, b) => a.updated_at - b.updated_at);
    for (const task of ended) this.tasks.markCompleted(task);
    this.pruneCompleted([record.id]);
  }

  /** After loading: which tasks are completed (in the order they ended), and what goes beyond the bounds. */
  protected recoverCompleted(completedFrameworks: CompletedFrameworkRecord[]): void {
    for (const record of completedFrameworks)
      if (!this.frameworks.has(record.id)) this.completedFrameworks.set(record.id, record);
    const ended = [...this.tasks.values()]
      .filter((t) => isTerminal(t.status.state))
      .sort((a, b) => a.updated_at - b.updated_at);
    for (const task of ended) {
      const context = {
        frameworkActive: this.frameworks.has(task.framework_id),
        agentRemoved: this.removedAgents.has(task.agent_id),
      };
      if (isCompleted(task, context)) this.tasks.markCompleted(task);
    }
    this.pruneCompleted();
  }

  /**
   * Reconciliation of a task the master does not know (never launched, or completed and forgotten):
   * TASK_GONE when the named agent was removed, TASK_UNKNOWN otherwise.
   */
  protected forgottenTaskStatus(taskId: string, agentId: string | undefined): TaskStatus {
    const gone = agentId !== undefined && this.removedAgents.has(agentId);
    return {
      task_id: { value: taskId },
      ...(agentId !== undefined ? { agent_id: { value: agentId } } : {}),
      state: gone ? 'TASK_GONE' : 'TASK_UNKNOWN',
      source: 'SOURCE_MASTER',
      reason: 'REASON_RECONCILIATION',
      timestamp: this.clock.now() / 1000,
    };
  }
}

/** A framework's roles: `roles`, else `role`, else `*`. */
export function frameworkRoles(info: { roles?: string[]; role?: string }): string[] {
  return info.roles && info.roles.length > 0 ? info.roles : [info.role ?? '*'];
}

/** The resources, each marked as allocated to `role` unless it already names one. */
function allocatedTo(resources: Resource[], role: string): Resource[] {
  return resources.map((r) => (r.allocation_info ? r : { ...r, allocation_info: { role } }));
}

function dropStatus(task: TaskInfo, message: string, now: number): TaskStatus {
  return {
    task_id: task.task_id,
    agent_id: task.agent_id,
    state: 'TASK_DROPPED',
    source: 'SOURCE_MASTER',
    reason: 'REASON_TASK_INVALID',
    message,
    timestamp: now / 1000,
  };
}

/**
 * An agent's task reports with its compact ones (`known_tasks`: status only) made whole from the tasks the
 * master knows. A compact report of a task the master does not know on that agent is refused
 * (ERR_CONFLICT): the agent then subscribes again with every task in full.
 */
export function expandTaskReports(
  agentId: string,
  subscribe: Extract<AgentCall, { type: 'SUBSCRIBE' }>['subscribe'],
  known: (taskId: string) => TaskRecord | undefined,
): AgentTaskReport[] {
  const compact = subscribe.known_tasks;
  if (!compact?.length) return subscribe.tasks;
  const reports = [...subscribe.tasks];
  const unknown: string[] = [];
  for (const { framework_id, status } of compact) {
    const task = known(status.task_id.value);
    if (!task && isTerminal(status.state)) continue; // ended and forgotten (completed.ts)
    if (!task || task.agent_id !== agentId || task.framework_id !== framework_id.value)
      unknown.push(status.task_id.value);
    else reports.push({ framework_id, task: task.task, status });
  }
  if (unknown.length > 0)
    throw new ConflictError(
      `SUBSCRIBE: known_tasks names ${unknown.length} task(s) this master does not know on agent ${agentId} ` +
        `(e.g. "${unknown[0]}"): send them in full in tasks`,
    );
  return reports;
}
