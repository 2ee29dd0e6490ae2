/**
 * What the services framework keeps in the StateStore, under `frameworks/services/`:
 * - `services/<id>`: the target of each service (spec, version, config key, backoff, active deployment);
 * - `versions/<id>/<version>`: the last VERSIONS_KEPT versions of each spec (for rollback);
 * - `deployments/<id>`: deployments, running and recently finished;
 * - `instances/<task id>`: every instance that is wanted or alive.
 * Service ids are paths (`/shop/web`); in keys they are URI-encoded without the leading slash.
 */
import { createHash } from 'node:crypto';
import type { CheckStatusInfo, TaskState } from '../../api/mesos.js';
import type { DeploymentView, ServiceSpec } from './types.js';

export const PREFIX = 'frameworks/services/';
export const ID_KEY = `${PREFIX}framework-id`;
export const SERVICES = `${PREFIX}services/`;
export const VERSIONS = `${PREFIX}versions/`;
export const DEPLOYMENTS = `${PREFIX}deployments/`;
export const INSTANCES = `${PREFIX}instances/`;
export const VERSIONS_KEPT = 10;
export const FINISHED_DEPLOYMENTS_KEPT = 50;

export const encodeServiceId = (id: string): string => encodeURIComponent(id.slice(1));
export const serviceKey = (id: string): string => SERVICES + encodeServiceId(id);
export const versionPrefix = (id: string): string => `${VERSIONS}${encodeServiceId(id)}/`;
export const versionKey = (id: string, version: string): string => versionPrefix(id) + version;

export interface ServiceRecord {
  id: string;
  /** The target version's id. */
  version: string;
  spec: ServiceSpec;
  /** Identifies the task configuration: instances with the same config need no replacing. */
  config: string;
  /** Changed by `restart`, so that the config (and every instance) changes. */
  nonce: string;
  /** Version ids kept, oldest first. */
  versions: string[];
  /** The last version a deployment reached (what autoRollback returns to). */
  lastGoodVersion?: string;
  /** The running deployment. */
  deployment?: string;
  /** Being deleted: every instance is killed, then the records go. */
  deleting?: boolean;
  backoff: { failures: number; until: number; lastFailureAt?: number };
  lastFailure?: string;
  createdAt: number;
}

export interface VersionRecord {
  id: string;
  serviceId: string;
  spec: ServiceSpec;
  nonce: string;
  config: string;
  createdAt: number;
}

export type InstanceState = 'PENDING' | TaskState;

/** Which result decides readiness, fixed at launch from the instance's own version. */
export type ReadyBy = 'readiness' | 'health' | 'running';

export interface InstanceRecord {
  /** The task id. */
  id: string;
  serviceId: string;
  version: string;
  config: string;
  readyBy: ReadyBy;
  state: InstanceState;
  agentId?: string;
  host?: string;
  ports: number[];
  healthy?: boolean;
  /** The readiness check passes. */
  checkOk?: boolean;
  createdAt: number;
  startedAt?: number;
  readySince?: number;
  unreachableSince?: number;
  killRequestedAt?: number;
  message?: string;
}

export interface DeploymentRecord extends DeploymentView {
  lastProgressAt: number;
  /** The best progress seen: current instances ready + old instances gone. */
  progress: number;
  /** Old instances alive when it started. */
  oldAtStart: number;
  finishedAt?: number;
}

/** The fields of a spec that a task is built from, plus the restart nonce. */
/** Changing these fields needs no new tasks: the deployment keeps the instances that run. */
const NOT_TASK_FIELDS: ReadonlySet<string> = new Set([
  'instances',
  'upgradeStrategy',
  'killSelection',
  'backoff',
  'unreachableStrategy',
  'dependencies',
  'progressDeadlineSeconds',
  'autoRollback',
]);

/** The fields of a spec that a task is built from, plus the restart nonce. */
export function computeConfigKey(spec: ServiceSpec, nonce: string): string {
  const task = Object.fromEntries(Object.entries(spec).filter(([k]) => !NOT_TASK_FIELDS.has(k)));
  return createHash('sha256').update(stableJson({ task, nonce })).digest('hex').slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export function isReady(i: InstanceRecord): boolean {
  if (i.state !== 'TASK_RUNNING') return false;
  if (i.readyBy === 'readiness') return i.checkOk === true;
  if (i.readyBy === 'health') return i.healthy === true;
  return true;
}

/** Readiness: HTTP 200–299, TCP connected, command exit 0. */
export function checkPassed(s: CheckStatusInfo): boolean {
  if (s.http)
    return s.http.status_code !== undefined && s.http.status_code >= 200 && s.http.status_code < 300;
  if (s.tcp) return s.tcp.succeeded === true;
  if (s.command) return s.command.exit_code === 0;
  return false;
}

export function toView(d: DeploymentRecord): DeploymentView {
  return {
    id: d.id,
    serviceId: d.serviceId,
    ...(d.fromVersion ? { fromVersion: d.fromVersion } : {}),
    toVersion: d.toVersion,
    kind: d.kind,
    strategy: d.strategy,
    state: d.state,
    startedAt: d.startedAt,
    deadline: d.deadline,
    steps: [...d.steps],
    currentStep: d.currentStep,
    ...(d.message ? { message: d.message } : {}),
  };
}
