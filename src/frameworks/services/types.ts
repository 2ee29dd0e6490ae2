/**
 * The public types of the services framework: the spec (`kind: Service`), the views served by the HTTP API,
 * and `ServicesApi`, the interface the HTTP layer and the CLI code against.
 */
import type { Constraint } from '../placement/index.js';

export type { Constraint };

export type CheckProtocol = 'HTTP' | 'TCP' | 'COMMAND';

/** A health check run by the agent. Defaults: grace 300 s, interval 60 s, timeout 20 s, 3 failures. */
export interface HealthCheckSpec {
  protocol: CheckProtocol;
  /** HTTP only; default `/`. */
  path?: string;
  /** Which of the service's ports to check (HTTP/TCP); default port index 0. */
  portIndex?: number;
  portName?: string;
  /** COMMAND only: a shell command, exit 0 = healthy. */
  command?: string;
  gracePeriodSeconds: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  maxConsecutiveFailures: number;
}

/** A readiness check run by the agent. Defaults: interval 30 s, timeout 10 s. */
export interface ReadinessCheckSpec {
  protocol: CheckProtocol;
  path?: string;
  portIndex?: number;
  portName?: string;
  command?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
}

export interface UriSpec {
  value: string;
  extract?: boolean;
  executable?: boolean;
}

export type UpgradeStrategy =
  { type: 'rolling'; minimumHealthCapacity: number; maximumOverCapacity: number } | { type: 'blueGreen' };

export type UnreachableStrategy = { inactiveAfterSeconds: number; expungeAfterSeconds: number } | 'disabled';

export type KillSelection = 'YOUNGEST_FIRST' | 'OLDEST_FIRST';

/** A parsed, validated, fully defaulted service spec. */
export interface ServiceSpec {
  /** An absolute path, e.g. `/shop/web`. */
  id: string;
  labels: Record<string, string>;
  image?: string;
  command?: string;
  args?: string[];
  uris?: UriSpec[];
  env: Record<string, string>;
  instances: number;
  resources: { cpus: number; mem: number; disk: number; gpus: number; ports: Array<{ name?: string }> };
  role: string;
  constraints: Constraint[];
  healthChecks: HealthCheckSpec[];
  readinessCheck?: ReadinessCheckSpec;
  upgradeStrategy: UpgradeStrategy;
  killSelection: KillSelection;
  backoff: { seconds: number; factor: number; maxSeconds: number };
  unreachableStrategy: UnreachableStrategy;
  dependencies: string[];
  progressDeadlineSeconds: number;
  autoRollback: boolean;
}

export interface InstanceView {
  /** The task id. */
  id: string;
  serviceId: string;
  version: string;
  /** TASK_* or 'PENDING'. */
  state: string;
  healthy?: boolean;
  ready?: boolean;
  agentId?: string;
  host?: string;
  ports: number[];
  startedAt?: number;
  message?: string;
}

export interface ServiceView {
  spec: ServiceSpec;
  /** The id of the current (target) version. */
  version: string;
  instances: InstanceView[];
  counts: { running: number; healthy: number; staged: number; unhealthy: number };
  /** The active deployment's id. */
  deployment?: string;
  lastFailure?: string;
}

export type DeploymentKind = 'create' | 'update' | 'scale' | 'restart' | 'rollback' | 'delete';
export type DeploymentState = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'superseded';

export interface DeploymentView {
  id: string;
  serviceId: string;
  fromVersion?: string;
  toVersion: string;
  kind: DeploymentKind;
  strategy: 'rolling' | 'blueGreen';
  state: DeploymentState;
  startedAt: number;
  deadline: number;
  /** Human-readable, e.g. 'start 1 new', 'kill 1 old'. */
  steps: string[];
  currentStep: number;
  message?: string;
}

export interface QueueEntry {
  serviceId: string;
  version: string;
  waiting: number;
  since: number;
  /** A placement summary, or 'backoff until ...', or 'waiting for dependency ...'. */
  reason: string;
  backoffUntil?: number;
}

export interface PlanResult {
  /** Field-level changes against the running version, e.g. `instances: 2 -> 4`. */
  diff: string[];
  steps: string[];
  placements: Array<{ instance: number; host?: string; ports?: number[]; reason?: string }>;
}

export type ServiceEvent =
  | {
      eventType: 'deployment_info' | 'deployment_success' | 'deployment_failed';
      deployment: DeploymentView;
      timestamp: number;
    }
  | {
      eventType: 'status_update_event';
      serviceId: string;
      taskId: string;
      state: string;
      host?: string;
      ports: number[];
      timestamp: number;
    }
  | {
      eventType: 'health_status_changed_event';
      serviceId: string;
      taskId: string;
      healthy: boolean;
      timestamp: number;
    };

export interface ServicesApi {
  /**
   * Parses and validates every doc first (errors name the field: `services[0].instances: must be >= 0`);
   * creates nothing if any is bad. Returns the deployments started (with dryRun: nothing changes and the
   * deployments that would start are returned).
   */
  apply(docs: unknown[], opts?: { force?: boolean; dryRun?: boolean }): Promise<DeploymentView[]>;
  plan(doc: unknown): Promise<PlanResult>;
  list(): ServiceView[];
  /** Throws NotFoundError if absent. */
  get(id: string): ServiceView;
  scale(id: string, instances: number, opts?: { force?: boolean }): Promise<DeploymentView>;
  restart(id: string, opts?: { force?: boolean }): Promise<DeploymentView>;
  /** To the previous version. */
  rollback(id: string): Promise<DeploymentView>;
  remove(id: string, opts?: { force?: boolean }): Promise<DeploymentView>;
  deployments(): DeploymentView[];
  /** DELETE: rolls back; force: just stops the deployment where it is. */
  cancelDeployment(id: string, opts?: { force?: boolean }): Promise<DeploymentView | undefined>;
  queue(): QueueEntry[];
  subscribe(listener: (e: ServiceEvent) => void): () => void;
}
