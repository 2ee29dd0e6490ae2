/**
 * The services controller: owns the framework's state (services, versions, deployments, instances), keeps
 * it in the StateStore, talks to the master only through the SDK, and converges every service towards its
 * target. A change (an API call, a status update, a timer) marks a service dirty; dirty services are
 * synced in one batch on the next turn of the event loop, so a burst of 10,000 status updates costs one
 * planner run per service, not one per update. `sync` asks the pure planner (deployment-steps.ts) for the
 * next step and applies it: new instances become PENDING records, which offers then place (placement/);
 * kills go through the scheduler API.
 */
import { isTerminal, type Offer, type TaskInfo, type TaskStatus } from '../../api/mesos.js';
import { systemClock, type Clock, type Timer } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { Master } from '../../master/index.js';
import { SchedulerClient, type SchedulerTransport } from '../../sdk/index.js';
import type { StateStore, StoreOp } from '../../store/index.js';
import { offerCandidate, type Candidate, type ExistingInstance } from '../placement/index.js';
import {
  computeDeploymentStep,
  type DeploymentStep,
  type PlannerInstance,
  type PlannerState,
} from './deployment-steps.js';
import {
  DEPLOYMENTS,
  FINISHED_DEPLOYMENTS_KEPT,
  ID_KEY,
  INSTANCES,
  checkPassed,
  isReady,
  SERVICES,
  serviceKey,
  toView,
  VERSIONS,
  versionKey,
  type DeploymentRecord,
  type InstanceRecord,
  type ServiceRecord,
  type VersionRecord,
} from './records.js';
import { computeOfferRound } from './offer-placement.js';
import { buildTaskInfo, readyByOf, taskPrefix } from './task-info.js';
import type { ServiceEvent, ServiceSpec } from './types.js';

export interface ServicesFrameworkOptions {
  store: StateStore;
  /** A transport, or a factory of them (needed to subscribe again when a service brings a new role). */
  transport: SchedulerTransport | (() => SchedulerTransport);
  /** Read-only views of the agents, for `plan`. */
  master?: Master;
  clock?: Clock;
  logger?: Logger;
  /** How long an instance must stay ready before its service's launch backoff resets (default 60 s). */
  backoffResetMs?: number;
  /** A kill not answered by a terminal update within this is sent again (default 30 s). */
  killRetryMs?: number;
}

/** Refuse unused offers this long when instances wait but do not fit, and when nothing waits. */
const REFUSE_BUSY_SECONDS = 5;
const REFUSE_IDLE_SECONDS = 60;
/** Etcd's default limit of operations in one transaction is 128. */
const OPS_PER_APPLY = 100;

export abstract class ServicesController {
  readonly name = 'services';
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  protected readonly services = new Map<string, ServiceRecord>();
  protected readonly versions = new Map<string, Map<string, VersionRecord>>();
  protected readonly instances = new Map<string, InstanceRecord>();
  protected readonly byService = new Map<string, Map<string, InstanceRecord>>();
  protected readonly deploymentRecords = new Map<string, DeploymentRecord>();
  /** The last placement summary of each service with unplaced instances. */
  protected readonly placementReasons = new Map<string, string>();
  /** Dependencies not yet satisfied, per service whose launches wait for them. */
  protected readonly blockedBy = new Map<string, string[]>();
  /** Services whose current instances are all ready (for dependencies). */
  private readonly satisfied = new Set<string>();
  /** Attributes and hostnames of the agents seen in offers. */
  protected readonly agentInfo = new Map<string, { hostname: string; attributes: Record<string, string> }>();
  private readonly listeners = new Set<(e: ServiceEvent) => void>();
  /** PENDING instances per service, so that finding work does not scan every instance. */
  private readonly pendingCount = new Map<string, number>();
  private readonly timers = new Map<string, { timer: Timer; at: number }>();
  private readonly dirty = new Set<string>();
  private readonly writes = new Map<string, StoreOp>();
  private client: SchedulerClient | undefined;
  private transport: SchedulerTransport | undefined;
  private frameworkId: string | undefined;
  private roles: string[] = [];
  private subscribed = false;
  private suppressed = false;
  private syncScheduled = false;
  private flushScheduled = false;
  private flushChain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(protected readonly options: ServicesFrameworkOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /** Loads the state, subscribes (keeping the framework id) and reconciles; deployments continue. */
  async start(): Promise<void> {
    await this.recover();
    await this.subscribeScheduler();
  }

  async recover(): Promise<void> {
    const store = this.options.store;
    this.frameworkId = (await store.get<string>(ID_KEY))?.value;
    for (const e of await store.list<ServiceRecord>(SERVICES)) this.services.set(e.value.id, clone(e.value));
    for (const e of await store.list<VersionRecord>(VERSIONS))
      this.versionMap(e.value.serviceId).set(e.value.id, clone(e.value));
    const now = this.clock.now();
    for (const e of await store.list<DeploymentRecord>(DEPLOYMENTS)) {
      const dep = clone(e.value);
      // Time spent down is not the deployment's fault: its progress deadline starts again.
      const spec = dep.state === 'running' ? this.services.get(dep.serviceId)?.spec : undefined;
      if (spec) {
        dep.lastProgressAt = now;
        dep.deadline = Math.max(dep.deadline, now + spec.progressDeadlineSeconds * 1000);
      }
      this.deploymentRecords.set(dep.id, dep);
    }
    for (const e of await store.list<InstanceRecord>(INSTANCES)) this.addInstance(clone(e.value));
    this.logger.info(
      {
        services: this.services.size,
        instances: this.instances.size,
        deployments: this.deploymentRecords.size,
      },
      'services recovered',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
    this.client?.close();
    await this.flush();
  }

  subscribe(listener: (e: ServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(event: ServiceEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.warn({ err: describeError(err) }, 'event listener failed');
      }
    }
  }

  /** The roles to subscribe with: `*` and every service's role. */
  private wantedRoles(): string[] {
    return [...new Set(['*', ...[...this.services.values()].map((s) => s.spec.role)])].sort();
  }

  private async subscribeScheduler(): Promise<void> {
    const t = this.options.transport;
    this.transport = typeof t === 'function' ? t() : t;
    this.roles = this.wantedRoles();
    this.subscribed = false;
    this.client = new SchedulerClient({
      transport: this.transport,
      logger: this.logger,
      clock: this.clock,
      framework: {
        name: 'services',
        user: 'root',
        roles: this.roles,
        checkpoint: true,
        failover_timeout: 7 * 24 * 3600,
        ...(this.frameworkId ? { id: { value: this.frameworkId } } : {}),
      },
      handlers: {
        subscribed: (id) => this.onSubscribed(id),
        offers: (offers) => this.onOffers(offers),
        update: (status) => this.onUpdate(status),
        error: (message) => this.logger.warn({ message }, 'scheduler error'),
      },
    });
    await this.client.subscribe();
  }

  /** Subscribes again when a service brings a role the framework does not have yet. */
  protected async ensureRoles(): Promise<void> {
    const wanted = this.wantedRoles();
    if (!this.client || wanted.every((r) => this.roles.includes(r))) return;
    if (typeof this.options.transport !== 'function') {
      this.logger.warn({ roles: wanted }, 'a new role needs a transport factory to subscribe again');
      return;
    }
    this.client.close();
    await this.subscribeScheduler();
  }

  private async onSubscribed(frameworkId: string): Promise<void> {
    this.frameworkId = frameworkId;
    this.put(ID_KEY, frameworkId);
    this.subscribed = true;
    this.suppressed = false;
    const launched = [...this.instances.values()].filter((i) => i.state !== 'PENDING' && i.agentId);
    if (launched.length > 0)
      await this.client?.reconcile(
        launched.map((i) => ({ taskId: i.id, ...(i.agentId ? { agentId: i.agentId } : {}) })),
      );
    // Instances whose service is gone (a delete interrupted by a restart) end; kills asked for before a
    // restart or a lost connection may have been lost, so they are sent again.
    for (const inst of [...this.instances.values()]) {
      if (!this.services.has(inst.serviceId)) this.killInstance(inst);
      else if (inst.killRequestedAt !== undefined) this.sendKill(inst);
    }
    for (const id of this.services.keys()) this.markDirty(id);
  }

  // ---- persistence ---------------------------------------------------------------------------------

  protected put(key: string, value: unknown): void {
    this.writes.set(key, { op: 'put', key, value });
    this.scheduleFlush();
  }

  protected del(key: string): void {
    this.writes.set(key, { op: 'delete', key });
    this.scheduleFlush();
  }

  protected saveService(s: ServiceRecord): void {
    this.put(serviceKey(s.id), s);
  }

  protected saveInstance(i: InstanceRecord): void {
    this.put(INSTANCES + i.id, i);
  }

  protected saveDeployment(d: DeploymentRecord): void {
    this.put(DEPLOYMENTS + d.id, d);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Writes what changed since the last flush (values as they are now), in order with earlier flushes. */
  protected flush(): Promise<void> {
    this.flushChain = this.flushChain
      .then(async () => {
        this.flushScheduled = false;
        const ops = [...this.writes.values()].map((op) =>
          op.op === 'put' ? { ...op, value: clone(op.value) } : op,
        );
        this.writes.clear();
        for (let i = 0; i < ops.length; i += OPS_PER_APPLY)
          await this.options.store.apply(ops.slice(i, i + OPS_PER_APPLY));
      })
      .catch((err: unknown) =>
        this.logger.error({ err: describeError(err) }, 'saving services state failed'),
      );
    return this.flushChain;
  }

  // ---- indexes -------------------------------------------------------------------------------------

  protected versionMap(serviceId: string): Map<string, VersionRecord> {
    let m = this.versions.get(serviceId);
    if (!m) this.versions.set(serviceId, (m = new Map()));
    return m;
  }

  protected instancesOf(serviceId: string): Map<string, InstanceRecord> {
    return this.byService.get(serviceId) ?? new Map();
  }

  protected addInstance(i: InstanceRecord): void {
    this.instances.set(i.id, i);
    let m = this.byService.get(i.serviceId);
    if (!m) this.byService.set(i.serviceId, (m = new Map()));
    m.set(i.id, i);
    if (i.state === 'PENDING') this.countPending(i.serviceId, 1);
  }

  private countPending(serviceId: string, delta: number): void {
    const n = (this.pendingCount.get(serviceId) ?? 0) + delta;
    if (n > 0) this.pendingCount.set(serviceId, n);
    else this.pendingCount.delete(serviceId);
  }

  protected removeInstance(i: InstanceRecord): void {
    this.instances.delete(i.id);
    if (i.state === 'PENDING') this.countPending(i.serviceId, -1);
    const m = this.byService.get(i.serviceId);
    m?.delete(i.id);
    if (m && m.size === 0) this.byService.delete(i.serviceId);
    this.del(INSTANCES + i.id);
    for (const key of [`kill:${i.id}`, `inactive:${i.id}`, `expunge:${i.id}`])
      if (this.timers.has(key)) this.clearTimer(key);
  }

  // ---- timers --------------------------------------------------------------------------------------

  /** One timer per key; a later `at` for the same key replaces an earlier one only if sooner. */
  private wakeAt(key: string, at: number, serviceId: string): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at && existing.at > this.clock.now()) return;
    if (existing) this.clock.clearTimeout(existing.timer);
    const timer = this.clock.setTimeout(
      () => {
        this.timers.delete(key);
        this.markDirty(serviceId);
      },
      Math.max(0, at - this.clock.now()),
    );
    this.timers.set(key, { timer, at });
  }

  private clearTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) this.clock.clearTimeout(t.timer);
    this.timers.delete(key);
  }

  // ---- the sync loop -------------------------------------------------------------------------------

  protected markDirty(serviceId: string): void {
    this.dirty.add(serviceId);
    if (this.syncScheduled || this.stopped) return;
    this.syncScheduled = true;
    setImmediate(() => this.runSync());
  }

  private runSync(): void {
    this.syncScheduled = false;
    if (!this.subscribed || this.stopped) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const id of ids) {
      try {
        this.syncService(id);
      } catch (err) {
        this.logger.error({ err: describeError(err), service: id }, 'service sync failed');
      }
    }
    this.updateOfferInterest();
  }

  private plannerState(svc: ServiceRecord, inst: InstanceRecord, now: number): PlannerState | 'expunge' {
    if (inst.killRequestedAt !== undefined || inst.state === 'TASK_KILLING') return 'killing';
    if (inst.state === 'PENDING') return 'pending';
    if (inst.state === 'TASK_UNREACHABLE') {
      const u = svc.spec.unreachableStrategy;
      if (u === 'disabled' || inst.unreachableSince === undefined) return 'unreachable';
      const gone = now - inst.unreachableSince;
      if (gone >= u.expungeAfterSeconds * 1000) return 'expunge';
      if (gone >= u.inactiveAfterSeconds * 1000) {
        this.wakeAt(`expunge:${inst.id}`, inst.unreachableSince + u.expungeAfterSeconds * 1000, svc.id);
        return 'inactive';
      }
      this.wakeAt(`inactive:${inst.id}`, inst.unreachableSince + u.inactiveAfterSeconds * 1000, svc.id);
      return 'unreachable';
    }
    return inst.state === 'TASK_RUNNING' ? 'running' : 'starting';
  }

  /** Runs the planner for one service and applies its step. */
  protected syncService(id: string): void {
    const svc = this.services.get(id);
    if (!svc) return;
    const now = this.clock.now();
    const planner: PlannerInstance[] = [];
    for (const inst of [...this.instancesOf(id).values()]) {
      const state = this.plannerState(svc, inst, now);
      if (state === 'expunge') {
        this.logger.info({ task: inst.id }, 'unreachable instance expunged');
        this.killInstance(inst);
        this.removeInstance(inst);
        continue;
      }
      if (state === 'killing' && inst.killRequestedAt !== undefined) this.retryKill(svc, inst, now);
      planner.push({
        id: inst.id,
        current: inst.config === svc.config,
        state,
        ready: state === 'running' && isReady(inst),
        createdAt: inst.createdAt,
      });
    }
    const target = {
      instances: svc.deleting ? 0 : svc.spec.instances,
      strategy: svc.spec.upgradeStrategy,
      killSelection: svc.spec.killSelection,
    };
    const step = computeDeploymentStep(target, planner);
    const dep = svc.deployment ? this.deploymentRecords.get(svc.deployment) : undefined;
    const blocked = dep && !svc.deleting ? this.unmetDependencies(svc) : [];
    if (blocked.length > 0) this.blockedBy.set(id, blocked);
    else this.blockedBy.delete(id);
    const acted = { launched: false, killed: false };
    if (step.launch > 0 && blocked.length === 0) {
      for (let k = 0; k < step.launch; k++) this.createPending(svc, now);
      acted.launched = true;
    }
    for (const taskId of step.kill) {
      const inst = this.instances.get(taskId);
      if (inst) this.killInstance(inst);
      acted.killed = true;
    }
    this.checkBackoff(svc, now);
    this.updateSatisfied(svc, step);
    if (dep?.state === 'running') this.trackDeployment(svc, dep, step, acted, now);
    else if (svc.deleting && step.done) this.finishDelete(svc);
  }

  private retryKill(svc: ServiceRecord, inst: InstanceRecord, now: number): void {
    const every = this.options.killRetryMs ?? 30_000;
    if (inst.state === 'PENDING' || inst.killRequestedAt === undefined) return;
    if (now - inst.killRequestedAt >= every) {
      inst.killRequestedAt = now;
      this.saveInstance(inst);
      this.sendKill(inst);
    }
    this.wakeAt(`kill:${inst.id}`, inst.killRequestedAt + every, svc.id);
  }

  private createPending(svc: ServiceRecord, now: number): InstanceRecord {
    const inst: InstanceRecord = {
      id: `${taskPrefix(svc.id)}.${newId(now)}`,
      serviceId: svc.id,
      version: svc.version,
      config: svc.config,
      readyBy: readyByOf(svc.spec),
      state: 'PENDING',
      ports: [],
      createdAt: now,
    };
    this.addInstance(inst);
    this.saveInstance(inst);
    return inst;
  }

  /** Kills through the scheduler API; a PENDING instance (never launched) is just forgotten. */
  protected killInstance(inst: InstanceRecord): void {
    if (inst.state === 'PENDING') {
      this.removeInstance(inst);
      return;
    }
    if (inst.killRequestedAt === undefined) {
      inst.killRequestedAt = this.clock.now();
      this.saveInstance(inst);
    }
    this.sendKill(inst);
  }

  private sendKill(inst: InstanceRecord): void {
    this.client
      ?.kill(inst.id, inst.agentId)
      .catch((err: unknown) =>
        this.logger.warn({ err: describeError(err), task: inst.id }, 'kill failed; will retry'),
      );
  }

  // ---- dependencies and backoff --------------------------------------------------------------------

  private unmetDependencies(svc: ServiceRecord): string[] {
    return svc.spec.dependencies.filter((d) => !this.satisfied.has(d));
  }

  private updateSatisfied(svc: ServiceRecord, step: DeploymentStep): void {
    const ok = !svc.deleting && step.readyCurrent >= svc.spec.instances;
    if (ok === this.satisfied.has(svc.id)) return;
    if (ok) this.satisfied.add(svc.id);
    else this.satisfied.delete(svc.id);
    for (const other of this.services.values())
      if (other.spec.dependencies.includes(svc.id)) this.markDirty(other.id);
  }

  /** Resets the backoff once an instance launched after the last failure has stayed ready a while. */
  private checkBackoff(svc: ServiceRecord, now: number): void {
    if (svc.backoff.until > now) this.wakeAt(`backoff:${svc.id}`, svc.backoff.until, svc.id);
    if (svc.backoff.failures === 0) return;
    const resetMs = this.options.backoffResetMs ?? 60_000;
    const since = svc.backoff.lastFailureAt ?? 0;
    let earliest: number | undefined;
    for (const inst of this.instancesOf(svc.id).values())
      if (
        inst.readySince !== undefined &&
        inst.readySince >= since &&
        (earliest === undefined || inst.readySince < earliest)
      )
        earliest = inst.readySince;
    if (earliest === undefined) return;
    if (now - earliest >= resetMs) {
      svc.backoff = { failures: 0, until: 0 };
      this.saveService(svc);
    } else this.wakeAt(`reset:${svc.id}`, earliest + resetMs, svc.id);
  }

  private recordFailure(svc: ServiceRecord, inst: InstanceRecord, status: TaskStatus): void {
    const now = this.clock.now();
    const b = svc.spec.backoff;
    const failures = svc.backoff.failures + 1;
    const delayMs = Math.min(b.seconds * Math.pow(b.factor, failures - 1), b.maxSeconds) * 1000;
    svc.backoff = { failures, until: now + delayMs, lastFailureAt: now };
    const why =
      status.healthy === false ? 'failed its health check' : (status.message ?? status.reason ?? '');
    svc.lastFailure = `${inst.id} ${status.state.replace('TASK_', '').toLowerCase()}${why ? `: ${why}` : ''}`;
    this.saveService(svc);
    this.wakeAt(`backoff:${svc.id}`, svc.backoff.until, svc.id);
  }

  // ---- deployments ---------------------------------------------------------------------------------

  private trackDeployment(
    svc: ServiceRecord,
    dep: DeploymentRecord,
    step: DeploymentStep,
    acted: { launched: boolean; killed: boolean },
    now: number,
  ): void {
    let changed = false;
    const progress = step.readyCurrent + Math.max(0, dep.oldAtStart - step.oldAlive);
    if (progress > dep.progress) {
      dep.progress = progress;
      dep.lastProgressAt = now;
      dep.deadline = now + svc.spec.progressDeadlineSeconds * 1000;
      changed = true;
    }
    // The next step is reached when an action of its kind is taken (a relaunch does not skip a kill).
    const next = dep.steps[dep.currentStep + 1];
    if (next && ((acted.launched && next.startsWith('start')) || (acted.killed && next.startsWith('kill')))) {
      dep.currentStep++;
      changed = true;
    }
    if (step.done) return this.finishDeployment(svc, dep, 'succeeded');
    if (now >= dep.deadline) return this.failDeployment(svc, dep, step);
    this.wakeAt(`deadline:${dep.id}`, dep.deadline, svc.id);
    if (changed) {
      this.saveDeployment(dep);
      this.emit({ eventType: 'deployment_info', deployment: toView(dep), timestamp: now });
    }
  }

  protected finishDeployment(
    svc: ServiceRecord | undefined,
    dep: DeploymentRecord,
    state: DeploymentRecord['state'],
    message?: string,
  ): void {
    const now = this.clock.now();
    dep.state = state;
    dep.finishedAt = now;
    if (state === 'succeeded') dep.currentStep = Math.max(0, dep.steps.length - 1);
    if (message) dep.message = message;
    this.saveDeployment(dep);
    this.clearTimer(`deadline:${dep.id}`);
    if (svc && svc.deployment === dep.id) {
      svc.deployment = undefined;
      if (state === 'succeeded' && !svc.deleting) svc.lastGoodVersion = svc.version;
      this.saveService(svc);
      if (state === 'succeeded' && svc.deleting) this.finishDelete(svc);
    }
    const eventType =
      state === 'succeeded'
        ? 'deployment_success'
        : state === 'failed'
          ? 'deployment_failed'
          : 'deployment_info';
    this.emit({ eventType, deployment: toView(dep), timestamp: now });
    this.pruneDeployments();
  }

  private failDeployment(svc: ServiceRecord, dep: DeploymentRecord, step: DeploymentStep): void {
    const n = svc.deleting ? 0 : svc.spec.instances;
    const message =
      `no progress in ${svc.spec.progressDeadlineSeconds}s: ${step.readyCurrent} of ${n} new instances ready` +
      (step.oldAlive > 0 ? `, ${step.oldAlive} old still running` : '') +
      (svc.lastFailure ? ` (last failure: ${svc.lastFailure})` : '');
    this.logger.warn({ service: svc.id, deployment: dep.id }, message);
    this.finishDeployment(svc, dep, 'failed', message);
    svc.lastFailure = `deployment ${dep.id} failed: ${message}`;
    this.saveService(svc);
    const good = svc.lastGoodVersion ? this.versionMap(svc.id).get(svc.lastGoodVersion) : undefined;
    if (svc.spec.autoRollback && !svc.deleting && good && good.config !== svc.config)
      this.startDeployment(svc.id, good.spec, 'rollback', { nonce: good.nonce });
  }

  private pruneDeployments(): void {
    const finished = [...this.deploymentRecords.values()].filter((d) => d.state !== 'running');
    if (finished.length <= FINISHED_DEPLOYMENTS_KEPT) return;
    finished.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const d of finished.slice(0, finished.length - FINISHED_DEPLOYMENTS_KEPT)) {
      this.deploymentRecords.delete(d.id);
      this.del(DEPLOYMENTS + d.id);
    }
  }

  /** Records a new target (a new version) and its deployment; the one running is superseded. */
  protected abstract startDeployment(
    serviceId: string,
    spec: ServiceSpec,
    kind: DeploymentRecord['kind'],
    opts: { nonce?: string; supersededState?: 'superseded' | 'cancelled' },
  ): DeploymentRecord;

  private finishDelete(svc: ServiceRecord): void {
    if (this.instancesOf(svc.id).size > 0) return;
    this.services.delete(svc.id);
    this.del(serviceKey(svc.id));
    for (const v of this.versionMap(svc.id).keys()) this.del(versionKey(svc.id, v));
    this.versions.delete(svc.id);
    this.satisfied.delete(svc.id);
    this.blockedBy.delete(svc.id);
    this.placementReasons.delete(svc.id);
    this.clearTimer(`backoff:${svc.id}`);
    this.clearTimer(`reset:${svc.id}`);
    this.logger.info({ service: svc.id }, 'service deleted');
  }

  // ---- offers --------------------------------------------------------------------------------------

  /** Services with instances to place now: PENDING, not in backoff, dependencies met. */
  protected launchable(now: number): Array<{ svc: ServiceRecord; pending: InstanceRecord[] }> {
    const out: Array<{ svc: ServiceRecord; pending: InstanceRecord[] }> = [];
    for (const svc of this.services.values()) {
      if (!this.pendingCount.has(svc.id) || svc.backoff.until > now || this.blockedBy.has(svc.id)) continue;
      const pending: InstanceRecord[] = [];
      for (const i of this.instancesOf(svc.id).values())
        if (i.state === 'PENDING' && i.config === svc.config) pending.push(i);
      if (pending.length > 0) out.push({ svc, pending: pending.sort((a, b) => a.createdAt - b.createdAt) });
    }
    return out;
  }

  /** Like `launchable(now).length > 0`, stopping at the first instance found. */
  private hasLaunchable(now: number): boolean {
    for (const svc of this.services.values()) {
      if (!this.pendingCount.has(svc.id) || svc.backoff.until > now || this.blockedBy.has(svc.id)) continue;
      for (const i of this.instancesOf(svc.id).values())
        if (i.state === 'PENDING' && i.config === svc.config) return true;
    }
    return false;
  }

  private updateOfferInterest(): void {
    const client = this.client;
    if (!client || !this.subscribed) return;
    const work = this.hasLaunchable(this.clock.now());
    if (work && this.suppressed) {
      this.suppressed = false;
      client.revive().catch((err: unknown) => this.logger.warn({ err: describeError(err) }, 'revive failed'));
    } else if (!work && !this.suppressed) {
      this.suppressed = true;
      client
        .suppress()
        .catch((err: unknown) => this.logger.warn({ err: describeError(err) }, 'suppress failed'));
    }
  }

  protected existingOf(serviceId: string): ExistingInstance[] {
    const out: ExistingInstance[] = [];
    for (const i of this.instancesOf(serviceId).values()) {
      if (!i.agentId || i.killRequestedAt !== undefined) continue;
      const agent = this.agentInfo.get(i.agentId);
      out.push({
        agentId: i.agentId,
        hostname: i.host ?? agent?.hostname ?? '',
        attributes: agent?.attributes ?? {},
      });
    }
    return out;
  }

  private async onOffers(offers: Offer[]): Promise<void> {
    const client = this.client;
    if (!client) return;
    const now = this.clock.now();
    const candidates: Candidate[] = offers.map((offer) => {
      const c = offerCandidate(offer);
      this.agentInfo.set(c.agentId, { hostname: c.hostname, attributes: c.attributes });
      return c;
    });
    const work = this.launchable(now).map(({ svc, pending }) => ({
      serviceId: svc.id,
      spec: svc.spec,
      pending,
      existing: this.existingOf(svc.id),
    }));
    const round = computeOfferRound(work, candidates);
    const launches = new Map<string, TaskInfo[]>();
    for (const { serviceId, instance: inst, placement: p } of round.placed) {
      const svc = this.services.get(serviceId)!;
      const task = buildTaskInfo(svc.spec, inst.version, inst.id, p);
      this.countPending(inst.serviceId, -1);
      Object.assign(inst, { state: 'TASK_STAGING', agentId: p.agentId, host: p.hostname, ports: p.ports });
      this.saveInstance(inst);
      const list = launches.get(p.candidateId) ?? [];
      list.push(task);
      launches.set(p.candidateId, list);
    }
    for (const [serviceId, summary] of round.summaries)
      if (summary) this.placementReasons.set(serviceId, summary);
      else this.placementReasons.delete(serviceId);
    const unplaced = round.unplaced;
    const calls: Array<Promise<void>> = [];
    for (const [offerId, tasks] of launches)
      calls.push(
        client
          .launch([offerId], tasks, REFUSE_BUSY_SECONDS)
          .catch((err: unknown) => this.launchFailed(tasks, err)),
      );
    const unused = offers.map((o) => o.id.value).filter((id) => !launches.has(id));
    if (unused.length > 0)
      calls.push(client.decline(unused, unplaced > 0 ? REFUSE_BUSY_SECONDS : REFUSE_IDLE_SECONDS));
    const results = await Promise.allSettled(calls);
    for (const r of results)
      if (r.status === 'rejected') this.logger.warn({ err: describeError(r.reason) }, 'offer answer failed');
    this.updateOfferInterest();
  }

  /** The ACCEPT failed (a stale offer): the instances wait for the next offers. */
  private launchFailed(tasks: TaskInfo[], err: unknown): void {
    this.logger.warn({ err: describeError(err), tasks: tasks.length }, 'launch failed; will retry');
    for (const t of tasks) {
      const inst = this.instances.get(t.task_id.value);
      if (!inst || inst.state !== 'TASK_STAGING') continue;
      Object.assign(inst, { state: 'PENDING', agentId: undefined, host: undefined, ports: [] });
      this.countPending(inst.serviceId, 1);
      this.saveInstance(inst);
      this.markDirty(inst.serviceId);
    }
  }

  // ---- status updates ------------------------------------------------------------------------------

  private onUpdate(status: TaskStatus): void {
    const taskId = status.task_id.value;
    const inst = this.instances.get(taskId);
    if (!inst) {
      // A task of this framework that the state does not know (launched just before a crash): end it.
      if (!isTerminal(status.state) && status.state !== 'TASK_UNKNOWN')
        this.client?.kill(taskId, status.agent_id?.value).catch(() => undefined);
      return;
    }
    const svc = this.services.get(inst.serviceId);
    const now = this.clock.now();
    const wasReady = isReady(inst);
    const wasHealthy = inst.healthy;
    const stateChanged = inst.state !== status.state;
    if (isTerminal(status.state) || status.state === 'TASK_UNKNOWN') {
      this.removeInstance(inst);
      if (svc && inst.killRequestedAt === undefined && status.state !== 'TASK_DROPPED' && !svc.deleting)
        this.recordFailure(svc, inst, status);
    } else {
      if (inst.state === 'PENDING') this.countPending(inst.serviceId, -1);
      inst.state = status.state;
      if (status.agent_id) inst.agentId = status.agent_id.value;
      if (status.state === 'TASK_UNREACHABLE') inst.unreachableSince ??= now;
      else inst.unreachableSince = undefined;
      if (status.state === 'TASK_RUNNING') inst.startedAt ??= now;
      if (status.healthy !== undefined) inst.healthy = status.healthy;
      if (status.check_status) inst.checkOk = checkPassed(status.check_status);
      if (status.message) inst.message = status.message;
      const ready = isReady(inst);
      if (ready && !wasReady) inst.readySince = now;
      else if (!ready) inst.readySince = undefined;
      this.saveInstance(inst);
      if (!svc) this.killInstance(inst); // its service is gone
    }
    if (stateChanged)
      this.emit({
        eventType: 'status_update_event',
        serviceId: inst.serviceId,
        taskId,
        state: status.state,
        ...(inst.host ? { host: inst.host } : {}),
        ports: inst.ports,
        timestamp: now,
      });
    if (status.healthy !== undefined && status.healthy !== wasHealthy)
      this.emit({
        eventType: 'health_status_changed_event',
        serviceId: inst.serviceId,
        taskId,
        healthy: status.healthy,
        timestamp: now,
      });
    this.markDirty(inst.serviceId);
  }
}

function clone<T>(v: T): T {
  return structuredClone(v);
}
