/**
 * The services framework: declarative long-running services (`kind: Service`) on the public scheduler API.
 * This file is its API (`ServicesApi`, used by the HTTP layer and the CLI): it validates, records new
 * versions and deployments, and builds the views; the controller (controller.ts) converges.
 *
 * Deployment semantics:
 * - One deployment per service at a time. `apply` and `rollback` supersede a running deployment (it ends
 *   `superseded`; the new one starts from the instances there are). `scale`, `restart` and `remove` need
 *   `force` to do that, else they fail with a conflict naming the running deployment.
 * - Cancelling a deployment (DELETE) starts a rollback to the version it started from (a cancelled create
 *   deletes the service); with `force` it only stops tracking it: the service keeps its target.
 */
import { ConflictError, InvalidArgumentError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { agentCandidate, placeInstances, type Candidate } from '../placement/index.js';
import { ServicesController } from './controller.js';
import { requirementOf } from './offer-placement.js';
import { computeDeploymentStep, describeDeploymentSteps, type PlannerInstance } from './deployment-steps.js';
import { DeploymentNotFoundError, ServiceNotFoundError, DeploymentConflictError } from './errors.js';
import {
  computeConfigKey,
  isReady,
  toView,
  versionKey,
  VERSIONS_KEPT,
  type DeploymentRecord,
  type InstanceRecord,
  type ServiceRecord,
} from './records.js';
import { normalizeServiceId, parseServiceSpec, parseServiceSpecs } from './spec.js';
import type {
  DeploymentView,
  InstanceView,
  PlanResult,
  QueueEntry,
  ServicesApi,
  ServiceSpec,
  ServiceView,
} from './types.js';

export type { ServicesFrameworkOptions } from './controller.js';

export class ServicesFramework extends ServicesController implements ServicesApi {
  // ---- changes -------------------------------------------------------------------------------------

  async apply(docs: unknown[], opts: { force?: boolean; dryRun?: boolean } = {}): Promise<DeploymentView[]> {
    const specs = parseServiceSpecs(docs);
    this.checkDependencies(specs);
    const changes: Array<{ spec: ServiceSpec; kind: DeploymentRecord['kind'] }> = [];
    for (const spec of specs) {
      const existing = this.services.get(spec.id);
      if (existing?.deleting && !opts.force)
        throw new ConflictError(`service "${spec.id}" is being deleted: wait for it, or use --force`);
      const kind = this.kindOfChange(existing, spec);
      if (kind) changes.push({ spec, kind });
    }
    if (opts.dryRun) return changes.map((c) => this.previewDeployment(c.spec, c.kind));
    const started = changes.map((c) => {
      const existing = this.services.get(c.spec.id);
      return this.startDeployment(
        c.spec.id,
        c.spec,
        c.kind,
        existing?.deleting ? { supersededState: 'cancelled' } : {},
      );
    });
    await this.ensureRoles();
    await this.flush();
    return started.map(toView);
  }

  /** Every dependency names a service (existing or in this apply), and they form no cycle. */
  private checkDependencies(specs: ServiceSpec[]): void {
    const graph = new Map<string, string[]>();
    for (const svc of this.services.values()) if (!svc.deleting) graph.set(svc.id, svc.spec.dependencies);
    for (const spec of specs) graph.set(spec.id, spec.dependencies);
    specs.forEach((spec, i) =>
      spec.dependencies.forEach((d, j) => {
        if (!graph.has(d))
          throw new InvalidArgumentError(
            `services[${i}].dependencies[${j}]: no service "${d}" (apply it too)`,
          );
      }),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting')
        throw new InvalidArgumentError(
          `dependencies: a cycle: ${[...path.slice(path.indexOf(id)), id].join(' -> ')}`,
        );
      state.set(id, 'visiting');
      for (const d of graph.get(id) ?? []) visit(d, [...path, id]);
      state.set(id, 'done');
    };
    for (const spec of specs) visit(spec.id, []);
  }

  /** What a change to `spec` is, or undefined when it changes nothing. */
  private kindOfChange(
    existing: ServiceRecord | undefined,
    spec: ServiceSpec,
  ): DeploymentRecord['kind'] | undefined {
    if (!existing) return 'create';
    if (existing.deleting) return 'create';
    if (computeConfigKey(spec, existing.nonce) !== existing.config) return 'update';
    if (spec.instances !== existing.spec.instances) return 'scale';
    return JSON.stringify(spec) === JSON.stringify(existing.spec) ? undefined : 'update';
  }

  async scale(id: string, instances: number, opts: { force?: boolean } = {}): Promise<DeploymentView> {
    if (!Number.isInteger(instances) || instances < 0 || instances > 100_000)
      throw new InvalidArgumentError(`instances: must be a whole number from 0 to 100000, got ${instances}`);
    const svc = this.mustGet(id, opts.force);
    const dep = this.startDeployment(svc.id, { ...svc.spec, instances }, 'scale', {});
    await this.flush();
    return toView(dep);
  }

  async restart(id: string, opts: { force?: boolean } = {}): Promise<DeploymentView> {
    const svc = this.mustGet(id, opts.force);
    const dep = this.startDeployment(svc.id, svc.spec, 'restart', { nonce: newId(this.clock.now()) });
    await this.flush();
    return toView(dep);
  }

  async rollback(id: string): Promise<DeploymentView> {
    const svc = this.mustGet(id, true);
    const previous = svc.versions.length >= 2 ? svc.versions[svc.versions.length - 2] : undefined;
    const version = previous ? this.versionMap(svc.id).get(previous) : undefined;
    if (!version) throw new ConflictError(`service "${svc.id}" has no previous version to roll back to`);
    const dep = this.startDeployment(svc.id, version.spec, 'rollback', { nonce: version.nonce });
    await this.flush();
    return toView(dep);
  }

  async remove(id: string, opts: { force?: boolean } = {}): Promise<DeploymentView> {
    const svc = this.mustGet(id, opts.force);
    const dep = this.startDelete(svc, 'superseded');
    await this.flush();
    return toView(dep);
  }

  async cancelDeployment(id: string, opts: { force?: boolean } = {}): Promise<DeploymentView | undefined> {
    const dep = this.deploymentRecords.get(id);
    if (!dep || dep.state !== 'running') throw new DeploymentNotFoundError(id);
    const svc = this.services.get(dep.serviceId);
    if (opts.force || !svc) {
      this.finishDeployment(svc, dep, 'cancelled', 'cancelled with force: the service keeps its target');
      await this.flush();
      return undefined;
    }
    let next: DeploymentRecord;
    const from = dep.fromVersion ? this.versionMap(svc.id).get(dep.fromVersion) : undefined;
    if (dep.kind === 'create' || !from) next = this.startDelete(svc, 'cancelled');
    else if (dep.kind === 'delete') {
      svc.deleting = false;
      next = this.startDeployment(svc.id, from.spec, 'rollback', {
        nonce: from.nonce,
        supersededState: 'cancelled',
      });
    } else
      next = this.startDeployment(svc.id, from.spec, 'rollback', {
        nonce: from.nonce,
        supersededState: 'cancelled',
      });
    await this.flush();
    return toView(next);
  }

  /** The service, unless it is absent, or (without force) has a deployment running. */
  private mustGet(id: string, force?: boolean): ServiceRecord {
    const svc = this.findService(id);
    if (svc.deployment && !force) throw new DeploymentConflictError(svc.id, svc.deployment);
    return svc;
  }

  private findService(id: string): ServiceRecord {
    let key: string;
    try {
      key = normalizeServiceId(id, 'id');
    } catch {
      throw new ServiceNotFoundError(id);
    }
    const svc = this.services.get(key);
    if (!svc) throw new ServiceNotFoundError(id);
    return svc;
  }

  private supersede(svc: ServiceRecord | undefined, state: 'superseded' | 'cancelled'): void {
    const running = svc?.deployment ? this.deploymentRecords.get(svc.deployment) : undefined;
    if (running?.state === 'running') this.finishDeployment(svc, running, state);
  }

  protected startDeployment(
    serviceId: string,
    spec: ServiceSpec,
    kind: DeploymentRecord['kind'],
    opts: { nonce?: string; supersededState?: 'superseded' | 'cancelled' },
  ): DeploymentRecord {
    const now = this.clock.now();
    const existing = this.services.get(serviceId);
    this.supersede(existing, opts.supersededState ?? 'superseded');
    const nonce = opts.nonce ?? existing?.nonce ?? '';
    const version = newId(now);
    const config = computeConfigKey(spec, nonce);
    const versions = [...(existing?.versions ?? []), version];
    for (const old of versions.splice(0, Math.max(0, versions.length - VERSIONS_KEPT))) {
      this.versionMap(serviceId).delete(old);
      this.del(versionKey(serviceId, old));
    }
    const record = { id: version, serviceId, spec, nonce, config, createdAt: now };
    this.versionMap(serviceId).set(version, record);
    this.put(versionKey(serviceId, version), record);
    const svc: ServiceRecord = {
      id: serviceId,
      version,
      spec,
      config,
      nonce,
      versions,
      ...(existing?.lastGoodVersion ? { lastGoodVersion: existing.lastGoodVersion } : {}),
      // A new configuration starts without the old one's launch backoff; a scale keeps it.
      backoff: kind === 'scale' && existing ? existing.backoff : { failures: 0, until: 0 },
      ...(existing?.lastFailure ? { lastFailure: existing.lastFailure } : {}),
      createdAt: existing?.createdAt ?? now,
    };
    this.services.set(serviceId, svc);
    const dep = this.newDeployment(svc, kind, existing?.deleting ? undefined : existing?.version);
    return dep;
  }

  private startDelete(svc: ServiceRecord, supersededState: 'superseded' | 'cancelled'): DeploymentRecord {
    this.supersede(svc, supersededState);
    svc.deleting = true;
    return this.newDeployment(svc, 'delete', svc.version);
  }

  private newDeployment(
    svc: ServiceRecord,
    kind: DeploymentRecord['kind'],
    fromVersion: string | undefined,
  ): DeploymentRecord {
    const now = this.clock.now();
    const planner = this.plannerInstances(svc.id, svc.config);
    const target = this.plannerTarget(svc.spec, svc.deleting === true);
    const step = computeDeploymentStep(target, planner);
    const dep: DeploymentRecord = {
      id: newId(now),
      serviceId: svc.id,
      ...(fromVersion ? { fromVersion } : {}),
      toVersion: svc.version,
      kind,
      strategy: svc.spec.upgradeStrategy.type,
      state: 'running',
      startedAt: now,
      deadline: now + svc.spec.progressDeadlineSeconds * 1000,
      steps: describeDeploymentSteps(target, planner),
      currentStep: 0,
      lastProgressAt: now,
      progress: step.readyCurrent,
      oldAtStart: step.oldAlive,
    };
    if (dep.steps.length === 0) dep.steps.push('nothing to do');
    svc.deployment = dep.id;
    this.deploymentRecords.set(dep.id, dep);
    this.saveService(svc);
    this.saveDeployment(dep);
    this.emit({ eventType: 'deployment_info', deployment: toView(dep), timestamp: now });
    this.markDirty(svc.id);
    return dep;
  }

  private plannerTarget(spec: ServiceSpec, deleting: boolean) {
    return {
      instances: deleting ? 0 : spec.instances,
      strategy: spec.upgradeStrategy,
      killSelection: spec.killSelection,
    };
  }

  private plannerInstances(serviceId: string, config: string): PlannerInstance[] {
    return [...this.instancesOf(serviceId).values()].map((i) => ({
      id: i.id,
      current: i.config === config,
      state:
        i.killRequestedAt !== undefined
          ? 'killing'
          : i.state === 'PENDING'
            ? 'pending'
            : i.state === 'TASK_RUNNING'
              ? 'running'
              : 'starting',
      ready: isReady(i),
      createdAt: i.createdAt,
    }));
  }

  private previewDeployment(spec: ServiceSpec, kind: DeploymentRecord['kind']): DeploymentView {
    const now = this.clock.now();
    const existing = this.services.get(spec.id);
    const config = computeConfigKey(spec, existing?.nonce ?? '');
    const target = this.plannerTarget(spec, false);
    return {
      id: 'dry-run',
      serviceId: spec.id,
      ...(existing ? { fromVersion: existing.version } : {}),
      toVersion: 'dry-run',
      kind,
      strategy: spec.upgradeStrategy.type,
      state: 'running',
      startedAt: now,
      deadline: now + spec.progressDeadlineSeconds * 1000,
      steps: describeDeploymentSteps(target, this.plannerInstances(spec.id, config)),
      currentStep: 0,
    };
  }

  // ---- dry run -------------------------------------------------------------------------------------

  async plan(doc: unknown): Promise<PlanResult> {
    const spec = parseServiceSpec(doc);
    const existing = this.services.get(spec.id);
    const config = computeConfigKey(spec, existing?.nonce ?? '');
    const planner = this.plannerInstances(spec.id, config);
    const steps = describeDeploymentSteps(this.plannerTarget(spec, false), planner);
    const keep = planner.filter((i) => i.current && i.state !== 'killing').length;
    const count = Math.max(0, spec.instances - keep);
    const existingPlaced = existing ? this.existingOf(spec.id) : [];
    const result = placeInstances(requirementOf(spec), count, this.agentCandidates(), existingPlaced);
    const placements: PlanResult['placements'] = result.placements.map((p, i) => ({
      instance: keep + i,
      host: p.hostname,
      ports: p.ports,
    }));
    for (let i = result.placements.length; i < count; i++)
      placements.push({ instance: keep + i, reason: result.summary });
    return {
      diff: diffSpecs(existing?.spec, spec),
      steps: steps.length > 0 ? steps : ['nothing to do'],
      placements,
    };
  }

  /** Each active agent's free resources (total − used), for dry runs. */
  private agentCandidates(): Candidate[] {
    const master = this.options.master;
    if (!master) return [];
    return master
      .listAgents()
      .filter((a) => a.state === 'ACTIVE' && a.drain === null)
      .map((a) => {
        const candidate = agentCandidate(a);
        // Agents known only from offers before the master lists their attributes keep what offers said.
        if (a.attributes === undefined) candidate.attributes = this.agentInfo.get(a.id)?.attributes ?? {};
        return candidate;
      });
  }

  // ---- views ---------------------------------------------------------------------------------------

  list(): ServiceView[] {
    return [...this.services.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((s) => this.view(s));
  }

  get(id: string): ServiceView {
    return this.view(this.findService(id));
  }

  deployments(): DeploymentView[] {
    return [...this.deploymentRecords.values()]
      .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1))
      .map(toView);
  }

  /** One deployment, running or recently finished. */
  deployment(id: string): DeploymentView {
    const d = this.deploymentRecords.get(id);
    if (!d) throw new DeploymentNotFoundError(id);
    return toView(d);
  }

  queue(): QueueEntry[] {
    const now = this.clock.now();
    const out: QueueEntry[] = [];
    for (const svc of this.services.values()) {
      const pending = [...this.instancesOf(svc.id).values()].filter((i) => i.state === 'PENDING');
      const blocked = this.blockedBy.get(svc.id);
      if (pending.length === 0 && !blocked) continue;
      const since = pending.reduce((m, i) => Math.min(m, i.createdAt), pending[0]?.createdAt ?? now);
      const inBackoff = svc.backoff.until > now;
      const reason = inBackoff
        ? `backoff until ${new Date(svc.backoff.until).toISOString()} after ${svc.backoff.failures} failure(s)` +
          (svc.lastFailure ? ` (last: ${svc.lastFailure})` : '')
        : blocked
          ? `waiting for dependencies: ${blocked.join(', ')}`
          : (this.placementReasons.get(svc.id) ?? 'waiting for offers');
      const live = [...this.instancesOf(svc.id).values()].filter((i) => i.config === svc.config).length;
      out.push({
        serviceId: svc.id,
        version: svc.version,
        waiting: pending.length > 0 ? pending.length : Math.max(0, svc.spec.instances - live),
        since,
        reason,
        ...(inBackoff ? { backoffUntil: svc.backoff.until } : {}),
      });
    }
    return out;
  }

  private view(svc: ServiceRecord): ServiceView {
    const instances = [...this.instancesOf(svc.id).values()].map(instanceView);
    const counts = { running: 0, healthy: 0, staged: 0, unhealthy: 0 };
    for (const i of instances) {
      if (i.state === 'TASK_RUNNING') counts.running++;
      if (i.state === 'PENDING' || i.state === 'TASK_STAGING' || i.state === 'TASK_STARTING') counts.staged++;
      if (i.healthy === true) counts.healthy++;
      if (i.healthy === false) counts.unhealthy++;
    }
    return {
      spec: svc.spec,
      version: svc.version,
      instances: instances.sort((a, b) => (a.id < b.id ? -1 : 1)),
      counts,
      ...(svc.deployment ? { deployment: svc.deployment } : {}),
      ...(svc.lastFailure ? { lastFailure: svc.lastFailure } : {}),
    };
  }
}

function instanceView(i: InstanceRecord): InstanceView {
  return {
    id: i.id,
    serviceId: i.serviceId,
    version: i.version,
    state: i.state,
    ...(i.healthy !== undefined ? { healthy: i.healthy } : {}),
    ready: isReady(i),
    ...(i.agentId ? { agentId: i.agentId } : {}),
    ...(i.host ? { host: i.host } : {}),
    ports: [...i.ports],
    ...(i.startedAt !== undefined ? { startedAt: i.startedAt } : {}),
    ...(i.message ? { message: i.message } : {}),
  };
}

/** Field-level differences, e.g. `instances: 2 -> 4`, `+ env.MODE: "fast"`, `- labels.tier`. */
export function diffSpecs(before: ServiceSpec | undefined, after: ServiceSpec): string[] {
  if (!before) return [`create ${after.id}`];
  const a = flatten(before);
  const b = flatten(after);
  const out: string[] = [];
  for (const [k, v] of b) {
    const old = a.get(k);
    if (old === undefined) out.push(`+ ${k}: ${v}`);
    else if (old !== v) out.push(`${k}: ${old} -> ${v}`);
  }
  for (const k of a.keys()) if (!b.has(k)) out.push(`- ${k}`);
  return out;
}

function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) out.set(prefix, JSON.stringify(v));
  return out;
}
