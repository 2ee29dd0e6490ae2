/**
 * Parsing and validation of a service spec (`kind: Service`, Marathon-ish camelCase). Every error is an
 * InvalidArgumentError whose message starts with the field path (`services[0].instances: must be >= 0`).
 * Unknown fields are errors. The result is fully defaulted.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { parseConstraint, type Constraint } from '../placement/index.js';
import type {
  CheckProtocol,
  HealthCheckSpec,
  KillSelection,
  ReadinessCheckSpec,
  ServiceSpec,
  UnreachableStrategy,
  UpgradeStrategy,
  UriSpec,
} from './types.js';

/** Defaults as in Marathon, except unreachableStrategy (Marathon: 0/0): replace after 5 min, forget after 10. */
export const SPEC_DEFAULTS = {
  cpus: 0.1,
  mem: 128,
  instances: 1,
  role: '*',
  backoff: { seconds: 1, factor: 1.15, maxSeconds: 300 },
  unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 },
  progressDeadlineSeconds: 600,
  health: { gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 },
  readiness: { intervalSeconds: 30, timeoutSeconds: 10 },
} as const;

const SEGMENT = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PORT_NAME = /^[a-z][a-z0-9-]{0,31}$/i;
const ROLE = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9_][a-zA-Z0-9_.-]*)*$|^\*$/;

const TOP_FIELDS = [
  'kind',
  'apiVersion',
  'id',
  'labels',
  'image',
  'command',
  'args',
  'uris',
  'env',
  'instances',
  'resources',
  'role',
  'constraints',
  'healthChecks',
  'readinessCheck',
  'upgradeStrategy',
  'killSelection',
  'backoff',
  'unreachableStrategy',
  'dependencies',
  'progressDeadlineSeconds',
  'autoRollback',
] as const;

const fail = (path: string, message: string): never => {
  throw new InvalidArgumentError(`${path}: ${message}`);
};

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

function object(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return fail(path, `must be an object, got ${typeName(v)}`);
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!allowed.includes(key)) fail(`${path}.${key}`, `unknown field (allowed: ${allowed.join(', ')})`);
  return o;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') return fail(path, `must be a string, got ${typeName(v)}`);
  return v;
}

function num(v: unknown, path: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(path, `must be a number, got ${typeName(v)}`);
  if (opts.integer && !Number.isInteger(v)) fail(path, `must be a whole number, got ${v}`);
  if (opts.min !== undefined && v < opts.min) fail(path, `must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) fail(path, `must be <= ${opts.max}, got ${v}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') return fail(path, `must be true or false, got ${typeName(v)}`);
  return v;
}

function list(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) return fail(path, `must be a list, got ${typeName(v)}`);
  return v;
}

/** Strings, numbers and booleans are accepted as values (YAML reads `PORT: 80` as a number). */
function stringMap(v: unknown, path: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return fail(path, `must be a map of strings, got ${typeName(v)}`);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
    if (typeof value === 'string') out[k] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[k] = String(value);
    else fail(`${path}.${k}`, `must be a string, got ${typeName(value)}`);
  }
  return out;
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  const s = str(v, path);
  const found = values.find((x) => x.toLowerCase() === s.toLowerCase());
  if (!found) return fail(path, `must be one of ${values.join(', ')}, got "${s}"`);
  return found;
}

/** `/shop/web`; a missing leading slash is added. */
export function normalizeServiceId(v: unknown, path: string): string {
  const s = str(v, path).trim();
  const abs = s.startsWith('/') ? s : `/${s}`;
  const segments = abs.slice(1).split('/');
  if (abs.length > 200 || segments.some((seg) => !SEGMENT.test(seg)))
    fail(path, `"${s}" is not a service id: use a path like /shop/web of lower-case letters, digits and "-"`);
  return abs;
}

function parsePorts(v: unknown, path: string): Array<{ name?: string }> {
  if (v === undefined) return [];
  if (typeof v === 'number') {
    num(v, path, { min: 0, max: 64, integer: true });
    return Array.from({ length: v }, () => ({}));
  }
  const items = list(v, path).map((item, i): { name?: string } => {
    const p = `${path}[${i}]`;
    const name = typeof item === 'object' && item !== null ? object(item, p, ['name']).name : item;
    if (name === undefined) return {};
    const n = str(name, typeof item === 'object' ? `${p}.name` : p);
    if (!PORT_NAME.test(n)) fail(p, `"${n}" is not a port name: use letters, digits and "-"`);
    return { name: n };
  });
  const names = items.flatMap((p) => (p.name ? [p.name.toLowerCase()] : []));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(path, `duplicate port name "${dup}"`);
  return items;
}

function parseResources(v: unknown, path: string): ServiceSpec['resources'] {
  const o = v === undefined ? {} : object(v, path, ['cpus', 'mem', 'disk', 'gpus', 'ports']);
  const cpus = o.cpus === undefined ? SPEC_DEFAULTS.cpus : num(o.cpus, `${path}.cpus`, { min: 0 });
  const mem = o.mem === undefined ? SPEC_DEFAULTS.mem : num(o.mem, `${path}.mem`, { min: 0 });
  if (cpus <= 0 && mem <= 0) fail(path, 'cpus or mem must be more than zero');
  return {
    cpus,
    mem,
    disk: o.disk === undefined ? 0 : num(o.disk, `${path}.disk`, { min: 0 }),
    gpus: o.gpus === undefined ? 0 : num(o.gpus, `${path}.gpus`, { min: 0, integer: true }),
    ports: parsePorts(o.ports, `${path}.ports`),
  };
}

interface CheckTarget {
  protocol: CheckProtocol;
  path?: string;
  portIndex?: number;
  portName?: string;
  command?: string;
}

function parseCheckTarget(
  o: Record<string, unknown>,
  path: string,
  ports: Array<{ name?: string }>,
): CheckTarget {
  if (o.protocol === undefined) fail(`${path}.protocol`, 'is required (HTTP, TCP or COMMAND)');
  const protocol = oneOf(o.protocol, `${path}.protocol`, ['HTTP', 'TCP', 'COMMAND'] as const);
  const out: CheckTarget = { protocol };
  if (protocol === 'COMMAND') {
    const c = o.command;
    const value =
      typeof c === 'object' && c !== null && !Array.isArray(c)
        ? str(object(c, `${path}.command`, ['value']).value, `${path}.command.value`)
        : c === undefined
          ? fail(`${path}.command`, 'is required for a COMMAND check')
          : str(c, `${path}.command`);
    out.command = value;
    for (const f of ['path', 'portIndex', 'portName'])
      if (o[f] !== undefined) fail(`${path}.${f}`, 'is not used by a COMMAND check');
    return out;
  }
  if (o.command !== undefined) fail(`${path}.command`, `is only used by a COMMAND check`);
  if (o.path !== undefined) {
    if (protocol !== 'HTTP') fail(`${path}.path`, 'is only used by an HTTP check');
    const p = str(o.path, `${path}.path`);
    if (!p.startsWith('/')) fail(`${path}.path`, `must start with "/", got "${p}"`);
    out.path = p;
  }
  if (o.portIndex !== undefined && o.portName !== undefined)
    fail(path, 'give portIndex or portName, not both');
  if (o.portName !== undefined) {
    const name = str(o.portName, `${path}.portName`);
    if (!ports.some((p) => p.name?.toLowerCase() === name.toLowerCase()))
      fail(`${path}.portName`, `no port named "${name}" in resources.ports`);
    out.portName = name;
  } else {
    const index =
      o.portIndex === undefined ? 0 : num(o.portIndex, `${path}.portIndex`, { min: 0, integer: true });
    if (index >= ports.length)
      fail(
        o.portIndex === undefined ? path : `${path}.portIndex`,
        `needs port index ${index} but resources.ports has ${ports.length} port(s)`,
      );
    out.portIndex = index;
  }
  return out;
}

function parseHealthCheck(v: unknown, path: string, ports: Array<{ name?: string }>): HealthCheckSpec {
  const o = object(v, path, [
    'protocol',
    'path',
    'portIndex',
    'portName',
    'command',
    'gracePeriodSeconds',
    'intervalSeconds',
    'timeoutSeconds',
    'maxConsecutiveFailures',
  ]);
  const d = SPEC_DEFAULTS.health;
  const seconds = (key: string, dflt: number, min = 0): number =>
    o[key] === undefined ? dflt : num(o[key], `${path}.${key}`, { min });
  return {
    ...parseCheckTarget(o, path, ports),
    gracePeriodSeconds: seconds('gracePeriodSeconds', d.gracePeriodSeconds),
    intervalSeconds: seconds('intervalSeconds', d.intervalSeconds, 0.1),
    timeoutSeconds: seconds('timeoutSeconds', d.timeoutSeconds, 0.1),
    maxConsecutiveFailures:
      o.maxConsecutiveFailures === undefined
        ? d.maxConsecutiveFailures
        : num(o.maxConsecutiveFailures, `${path}.maxConsecutiveFailures`, { min: 1, integer: true }),
  };
}

function parseReadinessCheck(v: unknown, path: string, ports: Array<{ name?: string }>): ReadinessCheckSpec {
  const o = object(v, path, [
    'protocol',
    'path',
    'portIndex',
    'portName',
    'command',
    'intervalSeconds',
    'timeoutSeconds',
  ]);
  const d = SPEC_DEFAULTS.readiness;
  return {
    ...parseCheckTarget(o, path, ports),
    intervalSeconds:
      o.intervalSeconds === undefined
        ? d.intervalSeconds
        : num(o.intervalSeconds, `${path}.intervalSeconds`, { min: 0.1 }),
    timeoutSeconds:
      o.timeoutSeconds === undefined
        ? d.timeoutSeconds
        : num(o.timeoutSeconds, `${path}.timeoutSeconds`, { min: 0.1 }),
  };
}

function parseUpgradeStrategy(v: unknown, path: string): UpgradeStrategy {
  if (v === undefined) return { type: 'rolling', minimumHealthCapacity: 1, maximumOverCapacity: 1 };
  const o = object(v, path, ['type', 'minimumHealthCapacity', 'maximumOverCapacity']);
  const type =
    o.type === undefined ? 'rolling' : oneOf(o.type, `${path}.type`, ['rolling', 'blueGreen'] as const);
  if (type === 'blueGreen') {
    for (const f of ['minimumHealthCapacity', 'maximumOverCapacity'])
      if (o[f] !== undefined) fail(`${path}.${f}`, 'is only used by a rolling upgrade');
    return { type };
  }
  const minimumHealthCapacity =
    o.minimumHealthCapacity === undefined
      ? 1
      : num(o.minimumHealthCapacity, `${path}.minimumHealthCapacity`, { min: 0, max: 1 });
  const maximumOverCapacity =
    o.maximumOverCapacity === undefined
      ? 1
      : num(o.maximumOverCapacity, `${path}.maximumOverCapacity`, { min: 0, max: 1 });
  if (minimumHealthCapacity === 1 && maximumOverCapacity === 0)
    fail(path, 'minimumHealthCapacity 1 with maximumOverCapacity 0 can never replace an instance');
  return { type, minimumHealthCapacity, maximumOverCapacity };
}

function parseBackoff(v: unknown, path: string): ServiceSpec['backoff'] {
  const d = SPEC_DEFAULTS.backoff;
  if (v === undefined) return { ...d };
  const o = object(v, path, ['seconds', 'factor', 'maxSeconds']);
  const seconds = o.seconds === undefined ? d.seconds : num(o.seconds, `${path}.seconds`, { min: 0 });
  const factor = o.factor === undefined ? d.factor : num(o.factor, `${path}.factor`, { min: 1 });
  const maxSeconds =
    o.maxSeconds === undefined ? Math.max(d.maxSeconds, seconds) : num(o.maxSeconds, `${path}.maxSeconds`);
  if (maxSeconds < seconds) fail(`${path}.maxSeconds`, `must be >= seconds (${seconds}), got ${maxSeconds}`);
  return { seconds, factor, maxSeconds };
}

function parseUnreachable(v: unknown, path: string): UnreachableStrategy {
  const d = SPEC_DEFAULTS.unreachableStrategy;
  if (v === undefined) return { ...d };
  if (v === 'disabled') return 'disabled';
  if (typeof v === 'string') return fail(path, `must be "disabled" or an object, got "${v}"`);
  const o = object(v, path, ['inactiveAfterSeconds', 'expungeAfterSeconds']);
  const inactiveAfterSeconds =
    o.inactiveAfterSeconds === undefined
      ? d.inactiveAfterSeconds
      : num(o.inactiveAfterSeconds, `${path}.inactiveAfterSeconds`, { min: 0 });
  const expungeAfterSeconds =
    o.expungeAfterSeconds === undefined
      ? Math.max(d.expungeAfterSeconds, inactiveAfterSeconds)
      : num(o.expungeAfterSeconds, `${path}.expungeAfterSeconds`, { min: 0 });
  if (expungeAfterSeconds < inactiveAfterSeconds)
    fail(`${path}.expungeAfterSeconds`, `must be >= inactiveAfterSeconds (${inactiveAfterSeconds})`);
  return { inactiveAfterSeconds, expungeAfterSeconds };
}

function parseUris(v: unknown, path: string): UriSpec[] {
  return list(v, path).map((item, i) => {
    const p = `${path}[${i}]`;
    if (typeof item === 'string') return { value: item };
    const o = object(item, p, ['value', 'extract', 'executable']);
    const value = str(o.value, `${p}.value`);
    if (!value) fail(`${p}.value`, 'must not be empty');
    return {
      value,
      ...(o.extract !== undefined ? { extract: bool(o.extract, `${p}.extract`) } : {}),
      ...(o.executable !== undefined ? { executable: bool(o.executable, `${p}.executable`) } : {}),
    };
  });
}

/** Parses one `kind: Service` document. Throws InvalidArgumentError naming the field. */
export function parseServiceSpec(doc: unknown, path = 'service'): ServiceSpec {
  const o = object(doc, path, TOP_FIELDS);
  if (o.kind !== undefined && o.kind !== 'Service')
    fail(`${path}.kind`, `must be "Service", got ${JSON.stringify(o.kind)}`);
  if (o.id === undefined) fail(`${path}.id`, 'is required (a path like /shop/web)');
  const id = normalizeServiceId(o.id, `${path}.id`);
  const image = o.image === undefined ? undefined : str(o.image, `${path}.image`);
  const command = o.command === undefined ? undefined : str(o.command, `${path}.command`);
  const args =
    o.args === undefined
      ? undefined
      : list(o.args, `${path}.args`).map((a, i) => str(a, `${path}.args[${i}]`));
  if (image === undefined && command === undefined && args === undefined)
    fail(path, 'give an image, or a command (with uris for artifacts)');
  if (image !== undefined && !image.trim()) fail(`${path}.image`, 'must not be empty');
  if (command !== undefined && args !== undefined) fail(`${path}.args`, 'give command or args, not both');
  const resources = parseResources(o.resources, `${path}.resources`);
  const constraints: Constraint[] =
    o.constraints === undefined
      ? []
      : list(o.constraints, `${path}.constraints`).map((c, i) =>
          parseConstraint(c, `${path}.constraints[${i}]`),
        );
  const role = o.role === undefined ? SPEC_DEFAULTS.role : str(o.role, `${path}.role`);
  if (!ROLE.test(role)) fail(`${path}.role`, `"${role}" is not a role name`);
  const dependencies =
    o.dependencies === undefined
      ? []
      : list(o.dependencies, `${path}.dependencies`).map((d, i) =>
          normalizeServiceId(d, `${path}.dependencies[${i}]`),
        );
  if (dependencies.includes(id)) fail(`${path}.dependencies`, 'a service cannot depend on itself');
  const spec: ServiceSpec = {
    id,
    labels: o.labels === undefined ? {} : stringMap(o.labels, `${path}.labels`),
    ...(image !== undefined ? { image: image.trim() } : {}),
    ...(command !== undefined ? { command } : {}),
    ...(args !== undefined ? { args } : {}),
    ...(o.uris !== undefined ? { uris: parseUris(o.uris, `${path}.uris`) } : {}),
    env: o.env === undefined ? {} : stringMap(o.env, `${path}.env`),
    instances:
      o.instances === undefined
        ? SPEC_DEFAULTS.instances
        : num(o.instances, `${path}.instances`, { min: 0, max: 100_000, integer: true }),
    resources,
    role,
    constraints,
    healthChecks:
      o.healthChecks === undefined
        ? []
        : list(o.healthChecks, `${path}.healthChecks`).map((h, i) =>
            parseHealthCheck(h, `${path}.healthChecks[${i}]`, resources.ports),
          ),
    ...(o.readinessCheck !== undefined
      ? { readinessCheck: parseReadinessCheck(o.readinessCheck, `${path}.readinessCheck`, resources.ports) }
      : {}),
    upgradeStrategy: parseUpgradeStrategy(o.upgradeStrategy, `${path}.upgradeStrategy`),
    killSelection:
      o.killSelection === undefined
        ? 'YOUNGEST_FIRST'
        : oneOf<KillSelection>(o.killSelection, `${path}.killSelection`, ['YOUNGEST_FIRST', 'OLDEST_FIRST']),
    backoff: parseBackoff(o.backoff, `${path}.backoff`),
    unreachableStrategy: parseUnreachable(o.unreachableStrategy, `${path}.unreachableStrategy`),
    dependencies,
    progressDeadlineSeconds:
      o.progressDeadlineSeconds === undefined
        ? SPEC_DEFAULTS.progressDeadlineSeconds
        : num(o.progressDeadlineSeconds, `${path}.progressDeadlineSeconds`, { min: 1 }),
    autoRollback: o.autoRollback === undefined ? false : bool(o.autoRollback, `${path}.autoRollback`),
  };
  if (spec.healthChecks.length > 1)
    fail(`${path}.healthChecks`, 'at most one health check per service (the agent runs one per task)');
  return spec;
}

/** Parses every doc; a duplicate id across them is an error. Nothing is returned unless all are valid. */
export function parseServiceSpecs(docs: unknown[], path = 'services'): ServiceSpec[] {
  const specs = docs.map((d, i) => parseServiceSpec(d, `${path}[${i}]`));
  const seen = new Map<string, number>();
  specs.forEach((s, i) => {
    const first = seen.get(s.id);
    if (first !== undefined) fail(`${path}[${i}].id`, `duplicate id "${s.id}" (also ${path}[${first}])`);
    seen.set(s.id, i);
  });
  return specs;
}
