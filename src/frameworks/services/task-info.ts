/** Turns a service spec and a placement into the TaskInfo to launch. Pure. */
import type { CheckInfo, CommandInfo, HealthCheck, TaskInfo } from '../../api/mesos.js';
import type { Placement } from '../placement/index.js';
import type { ReadyBy } from './records.js';
import type { HealthCheckSpec, ReadinessCheckSpec, ServiceSpec } from './types.js';

export const LABEL_SERVICE = 'berth.io/service';
export const LABEL_VERSION = 'berth.io/version';

/** `/shop/web` → `shop_web`: the prefix of task ids and the task name. */
export const taskPrefix = (serviceId: string): string => serviceId.slice(1).replaceAll('/', '_');

export function readyByOf(spec: ServiceSpec): ReadyBy {
  return spec.readinessCheck ? 'readiness' : spec.healthChecks.length > 0 ? 'health' : 'running';
}

/** `PORT0..`, `PORT` (the first), `PORT_<NAME>`, `PORTS` and `HOST`, as Marathon sets them. */
export function portEnv(spec: ServiceSpec, host: string, ports: number[]): Record<string, string> {
  const env: Record<string, string> = { HOST: host, PORTS: ports.join(',') };
  ports.forEach((port, i) => {
    env[`PORT${i}`] = String(port);
    const name = spec.resources.ports[i]?.name;
    if (name) env[`PORT_${name.toUpperCase().replace(/-/g, '_')}`] = String(port);
  });
  if (ports[0] !== undefined) env.PORT = String(ports[0]);
  return env;
}

function checkPort(
  check: { portIndex?: number; portName?: string },
  spec: ServiceSpec,
  ports: number[],
): number {
  const index =
    check.portName !== undefined
      ? spec.resources.ports.findIndex((p) => p.name?.toLowerCase() === check.portName!.toLowerCase())
      : (check.portIndex ?? 0);
  const port = ports[index];
  if (port === undefined) throw new Error(`check port index ${index} has no host port`);
  return port;
}

function shell(command: string, env: CommandInfo['environment']): CommandInfo {
  return { shell: true, value: command, ...(env ? { environment: env } : {}) };
}

function healthCheck(
  h: HealthCheckSpec,
  spec: ServiceSpec,
  ports: number[],
  env: CommandInfo['environment'],
): HealthCheck {
  const timing = {
    delay_seconds: 0,
    interval_seconds: h.intervalSeconds,
    timeout_seconds: h.timeoutSeconds,
    consecutive_failures: h.maxConsecutiveFailures,
    grace_period_seconds: h.gracePeriodSeconds,
  };
  if (h.protocol === 'COMMAND')
    return { type: 'COMMAND', command: shell(h.command ?? 'true', env), ...timing };
  const port = checkPort(h, spec, ports);
  if (h.protocol === 'TCP') return { type: 'TCP', tcp: { port }, ...timing };
  return { type: 'HTTP', http: { port, path: h.path ?? '/' }, ...timing };
}

function readinessCheck(
  r: ReadinessCheckSpec,
  spec: ServiceSpec,
  ports: number[],
  env: CommandInfo['environment'],
): CheckInfo {
  const timing = { delay_seconds: 0, interval_seconds: r.intervalSeconds, timeout_seconds: r.timeoutSeconds };
  if (r.protocol === 'COMMAND')
    return { type: 'COMMAND', command: { command: shell(r.command ?? 'true', env) }, ...timing };
  const port = checkPort(r, spec, ports);
  if (r.protocol === 'TCP') return { type: 'TCP', tcp: { port }, ...timing };
  return { type: 'HTTP', http: { port, path: r.path ?? '/' }, ...timing };
}

export function buildTaskInfo(
  spec: ServiceSpec,
  version: string,
  taskId: string,
  placement: Pick<Placement, 'agentId' | 'hostname' | 'resources' | 'ports'>,
): TaskInfo {
  const env = { ...spec.env, ...portEnv(spec, placement.hostname, placement.ports) };
  const environment = { variables: Object.entries(env).map(([name, value]) => ({ name, value })) };
  const command: CommandInfo = spec.command
    ? { shell: true, value: spec.command }
    : spec.args && spec.args.length > 0
      ? { shell: false, value: spec.args[0], arguments: spec.args }
      : { shell: false };
  const health = spec.healthChecks[0];
  return {
    name: taskPrefix(spec.id),
    task_id: { value: taskId },
    agent_id: { value: placement.agentId },
    resources: placement.resources,
    command: {
      ...command,
      environment,
      ...(spec.uris && spec.uris.length > 0 ? { uris: spec.uris.map((u) => ({ ...u })) } : {}),
    },
    ...(spec.image
      ? {
          container: {
            type: 'MESOS' as const,
            mesos: { image: { type: 'DOCKER' as const, docker: { name: spec.image } } },
          },
        }
      : {}),
    labels: {
      labels: [
        { key: LABEL_SERVICE, value: spec.id },
        { key: LABEL_VERSION, value: version },
        ...Object.entries(spec.labels).map(([key, value]) => ({ key, value })),
      ],
    },
    ...(health ? { health_check: healthCheck(health, spec, placement.ports, environment) } : {}),
    ...(spec.readinessCheck
      ? { check: readinessCheck(spec.readinessCheck, spec, placement.ports, environment) }
      : {}),
  };
}
