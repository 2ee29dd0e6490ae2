/**
 * Reading a `kind: Job` / `kind: CronJob` document into a JobSpec: every field checked, one clear line
 * naming the field on bad input, defaults filled in. Plus the dependency graph check (`after:` cycles).
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { parseMemSize } from '../../core/units.js';
import { parseConstraints } from '../placement/index.js';
import { checkCron, checkTimeZone } from './cron.js';
import {
  DEFAULTS,
  type ConcurrencyPolicy,
  type JobKind,
  type JobResources,
  type JobSchedule,
  type JobSpec,
  type JobUri,
  type RestartPolicy,
} from './types.js';

/**
 * Job ids follow Metronome: one or more dot-separated parts of lower-case letters, digits and `-`, each
 * starting and ending with a letter or digit; at most 63 characters a part and 200 in all.
 */
const ID_PART = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkJobId(id: unknown, path = 'id'): string {
  if (typeof id !== 'string' || id === '')
    throw new InvalidArgumentError(`${path}: a job id is required, e.g. "nightly-report"`);
  if (id.length > 200 || !id.split('.').every((p) => ID_PART.test(p)))
    throw new InvalidArgumentError(
      `${path}: bad job id "${id}": use lower-case letters, digits and "-", parts separated by ".", each part starting and ending with a letter or digit`,
    );
  return id;
}

const JOB_FIELDS = [
  'description',
  'image',
  'command',
  'args',
  'uris',
  'env',
  'workdir',
  'resources',
  'constraints',
  'role',
  'completions',
  'parallelism',
  'restartPolicy',
  'backoffLimit',
  'activeDeadlineSeconds',
  'ttlSecondsAfterFinished',
] as const;
const CRON_FIELDS = [
  'schedule',
  'timeZone',
  'startingDeadlineSeconds',
  'concurrencyPolicy',
  'suspend',
  'successfulJobsHistoryLimit',
  'failedJobsHistoryLimit',
  'jobTemplate',
] as const;
const TOP_FIELDS = ['apiVersion', 'kind', 'id', 'metadata', 'after'] as const;

type Doc = Record<string, unknown>;

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(doc: Doc, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(doc))
    if (!allowed.includes(key))
      throw new InvalidArgumentError(`${path}${key}: unknown field (known: ${allowed.join(', ')})`);
}

function str(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${path}: must be a string`);
  return v;
}

function int(v: unknown, path: string, min: number, fallback?: number): number | undefined {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new InvalidArgumentError(
      `${path}: must be a whole number of at least ${min}, got ${JSON.stringify(v)}`,
    );
  return v;
}

function strList(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new InvalidArgumentError(`${path}: must be a list of strings`);
  return v as string[];
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], fallback: T): T {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !values.includes(v as T))
    throw new InvalidArgumentError(`${path}: must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function parseResources(v: unknown, path: string): JobResources {
  if (v === undefined || v === null) return { cpus: DEFAULTS.cpus, mem: DEFAULTS.mem };
  if (!isObject(v)) throw new InvalidArgumentError(`${path}: must be an object like {cpus: 0.5, mem: 64M}`);
  checkKeys(v, ['cpus', 'mem', 'disk', 'gpus'], `${path}.`);
  const size = (x: unknown, p: string): number | undefined => {
    if (x === undefined || x === null) return undefined;
    if (typeof x === 'number' && x > 0) return x;
    if (typeof x === 'string') {
      try {
        return parseMemSize(x);
      } catch (err) {
        throw new InvalidArgumentError(`${p}: ${(err as Error).message}`);
      }
    }
    throw new InvalidArgumentError(`${p}: must be a size in MiB or with a unit, e.g. 64M`);
  };
  const cpus = v.cpus ?? DEFAULTS.cpus;
  if (typeof cpus !== 'number' || !(cpus > 0))
    throw new InvalidArgumentError(`${path}.cpus: must be a number above zero, e.g. 0.5`);
  const gpus = int(v.gpus, `${path}.gpus`, 0);
  const disk = size(v.disk, `${path}.disk`);
  return {
    cpus,
    mem: size(v.mem, `${path}.mem`) ?? DEFAULTS.mem,
    ...(disk !== undefined ? { disk } : {}),
    ...(gpus ? { gpus } : {}),
  };
}

function parseUris(v: unknown, path: string): JobUri[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${path}: must be a list`);
  return v.map((u, i) => {
    const p = `${path}[${i}]`;
    if (typeof u === 'string' && u) return { value: u };
    if (!isObject(u)) throw new InvalidArgumentError(`${p}: must be a URI or {value, extract, executable}`);
    checkKeys(u, ['value', 'extract', 'executable'], `${p}.`);
    const value = str(u.value, `${p}.value`);
    if (!value) throw new InvalidArgumentError(`${p}.value: is required`);
    for (const k of ['extract', 'executable'] as const)
      if (u[k] !== undefined && typeof u[k] !== 'boolean')
        throw new InvalidArgumentError(`${p}.${k}: must be true or false`);
    return {
      value,
      ...(u.extract !== undefined ? { extract: u.extract as boolean } : {}),
      ...(u.executable !== undefined ? { executable: u.executable as boolean } : {}),
    };
  });
}

function parseEnv(v: unknown, path: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new InvalidArgumentError(`${path}: must be a map of NAME: value`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new InvalidArgumentError(`${path}.${k}: bad variable name`);
    if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean')
      throw new InvalidArgumentError(`${path}.${k}: must be a string`);
    out[k] = String(val);
  }
  return out;
}

/** The job part (shared by Job and a CronJob's template). */
function parseJobFields(doc: Doc, path: string): Omit<JobSpec, 'kind' | 'id' | 'after' | 'schedule'> {
  const image = str(doc.image, `${path}image`);
  const command = typeof doc.command === 'string' ? doc.command : strList(doc.command, `${path}command`);
  if (!image && (command === undefined || command.length === 0))
    throw new InvalidArgumentError(`${path}command: a job needs an image or a command`);
  const restartPolicy = oneOf<RestartPolicy>(
    doc.restartPolicy,
    `${path}restartPolicy`,
    ['Never', 'OnFailure'],
    'OnFailure',
  );
  if (restartPolicy === 'Never' && doc.backoffLimit !== undefined && doc.backoffLimit !== 0)
    throw new InvalidArgumentError(
      `${path}backoffLimit: restartPolicy Never never retries a failed task; use restartPolicy OnFailure`,
    );
  const completions = int(doc.completions, `${path}completions`, 1, DEFAULTS.completions)!;
  const parallelism = int(doc.parallelism, `${path}parallelism`, 1, DEFAULTS.parallelism)!;
  const workdir = str(doc.workdir, `${path}workdir`);
  if (workdir !== undefined && !workdir.startsWith('/'))
    throw new InvalidArgumentError(`${path}workdir: must be an absolute path`);
  const role = str(doc.role, `${path}role`) ?? DEFAULTS.role;
  if (!/^[a-zA-Z0-9_.-]+(\/[a-zA-Z0-9_.-]+)*$/.test(role) || role === '*')
    throw new InvalidArgumentError(`${path}role: bad role "${role}"`);
  const description = str(doc.description, `${path}description`);
  const args = strList(doc.args, `${path}args`);
  const uris = parseUris(doc.uris, `${path}uris`);
  const env = parseEnv(doc.env, `${path}env`);
  const ads = int(doc.activeDeadlineSeconds, `${path}activeDeadlineSeconds`, 1);
  const ttl = int(doc.ttlSecondsAfterFinished, `${path}ttlSecondsAfterFinished`, 0);
  return {
    ...(description !== undefined ? { description } : {}),
    ...(image ? { image } : {}),
    ...(command !== undefined ? { command } : {}),
    ...(args ? { args } : {}),
    ...(uris ? { uris } : {}),
    ...(env ? { env } : {}),
    ...(workdir ? { workdir } : {}),
    resources: parseResources(doc.resources, `${path}resources`),
    constraints: parseConstraints(doc.constraints, `${path}constraints`),
    role,
    completions,
    parallelism,
    restartPolicy,
    backoffLimit:
      restartPolicy === 'Never' ? 0 : int(doc.backoffLimit, `${path}backoffLimit`, 0, DEFAULTS.backoffLimit)!,
    ...(ads !== undefined ? { activeDeadlineSeconds: ads } : {}),
    ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}),
  };
}

function parseSchedule(doc: Doc): JobSchedule {
  const cron = str(doc.schedule, 'schedule');
  if (!cron) throw new InvalidArgumentError('schedule: a CronJob needs a cron schedule, e.g. "0 2 * * *"');
  const timeZone = str(doc.timeZone, 'timeZone') ?? 'UTC';
  checkTimeZone(timeZone);
  checkCron(cron, timeZone);
  if (doc.suspend !== undefined && typeof doc.suspend !== 'boolean')
    throw new InvalidArgumentError('suspend: must be true or false');
  const sds = int(doc.startingDeadlineSeconds, 'startingDeadlineSeconds', 0);
  return {
    cron: cron.trim(),
    timeZone,
    ...(sds !== undefined ? { startingDeadlineSeconds: sds } : {}),
    concurrencyPolicy: oneOf<ConcurrencyPolicy>(
      doc.concurrencyPolicy,
      'concurrencyPolicy',
      ['Allow', 'Forbid', 'Replace'],
      'Allow',
    ),
    suspend: doc.suspend === true,
    successfulJobsHistoryLimit: int(
      doc.successfulJobsHistoryLimit,
      'successfulJobsHistoryLimit',
      0,
      DEFAULTS.successfulJobsHistoryLimit,
    )!,
    failedJobsHistoryLimit: int(
      doc.failedJobsHistoryLimit,
      'failedJobsHistoryLimit',
      0,
      DEFAULTS.failedJobsHistoryLimit,
    )!,
  };
}

/**
 * Metronome's job form (`{id, description, run: {cmd, cpus, mem, docker: {image}, artifacts, restart …}}`)
 * as berth's document; other documents are returned as they are.
 */
export function fromMetronome(input: unknown): unknown {
  if (!isObject(input) || input.kind !== undefined || !isObject(input.run)) return input;
  const run = input.run;
  checkKeys(
    run,
    [
      'cmd',
      'args',
      'cpus',
      'mem',
      'disk',
      'gpus',
      'docker',
      'ucr',
      'env',
      'artifacts',
      'placement',
      'restart',
      'maxLaunchDelay',
      'user',
      'labels',
    ],
    'run.',
  );
  const image = isObject(run.docker)
    ? run.docker.image
    : isObject(run.ucr) && isObject(run.ucr.image)
      ? run.ucr.image.id
      : undefined;
  const restart = isObject(run.restart) ? run.restart : {};
  const constraints =
    isObject(run.placement) && Array.isArray(run.placement.constraints)
      ? run.placement.constraints
      : undefined;
  const doc: Doc = {
    kind: 'Job',
    id: input.id,
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(image !== undefined ? { image } : {}),
    ...(run.cmd !== undefined ? { command: run.cmd } : {}),
    ...(run.args !== undefined ? { args: run.args } : {}),
    ...(run.env !== undefined ? { env: run.env } : {}),
    ...(Array.isArray(run.artifacts)
      ? {
          uris: run.artifacts.map((a: unknown) =>
            isObject(a) ? { value: a.uri, extract: a.extract, executable: a.executable } : a,
          ),
        }
      : {}),
    resources: {
      cpus: run.cpus,
      mem: run.mem,
      ...(run.disk ? { disk: run.disk } : {}),
      ...(run.gpus ? { gpus: run.gpus } : {}),
    },
    ...(constraints
      ? {
          constraints: constraints.map((c: unknown) =>
            isObject(c)
              ? [
                  c.attribute,
                  c.operator === 'EQ' ? 'IS' : c.operator,
                  ...(c.value !== undefined ? [c.value] : []),
                ]
              : c,
          ),
        }
      : {}),
    restartPolicy: restart.policy === 'ON_FAILURE' ? 'OnFailure' : 'Never',
    ...(restart.activeDeadlineSeconds !== undefined
      ? { activeDeadlineSeconds: restart.activeDeadlineSeconds }
      : {}),
  };
  for (const key of Object.keys(input))
    if (!['id', 'description', 'labels', 'run'].includes(key))
      throw new InvalidArgumentError(
        `${key}: unknown field in a Metronome job (known: id, description, labels, run)`,
      );
  return doc;
}

/**
 * Reads one document. `urlId` is the id in the request path (`PUT /v1/jobs/{id}`); the document's own id
 * (`id`, or `metadata.name`), when given, must match it. `kind` defaults to Job, or CronJob when the
 * document has a `schedule`.
 */
export function parseJobSpec(document: unknown, urlId?: string): JobSpec {
  const input = fromMetronome(document);
  if (!isObject(input))
    throw new InvalidArgumentError('the body must be a Job or CronJob document (an object)');
  const kind = oneOf<JobKind>(
    input.kind,
    'kind',
    ['Job', 'CronJob'],
    input.schedule !== undefined ? 'CronJob' : 'Job',
  );
  const metaName = isObject(input.metadata) ? input.metadata.name : undefined;
  if (input.metadata !== undefined && !isObject(input.metadata))
    throw new InvalidArgumentError('metadata: must be an object with a name');
  const docId = input.id ?? metaName;
  if (urlId !== undefined && docId !== undefined && docId !== urlId)
    throw new InvalidArgumentError(
      `id: the document's id "${String(docId)}" differs from "${urlId}" in the path`,
    );
  const id = checkJobId(docId ?? urlId);
  const after = strList(input.after, 'after') ?? [];
  after.forEach((a, i) => checkJobId(a, `after[${i}]`));
  if (after.includes(id)) throw new InvalidArgumentError(`after: job "${id}" cannot run after itself`);
  if (kind === 'Job') {
    checkKeys(input, [...TOP_FIELDS, ...JOB_FIELDS], '');
    return { kind, id, after: [...new Set(after)], ...parseJobFields(input, '') };
  }
  const template = input.jobTemplate;
  if (template !== undefined) {
    checkKeys(input, [...TOP_FIELDS, ...CRON_FIELDS], '');
    if (!isObject(template))
      throw new InvalidArgumentError('jobTemplate: must be an object with the job fields');
    checkKeys(template, JOB_FIELDS, 'jobTemplate.');
  } else checkKeys(input, [...TOP_FIELDS, ...CRON_FIELDS, ...JOB_FIELDS], '');
  return {
    kind,
    id,
    after: [...new Set(after)],
    ...parseJobFields(template ?? input, template ? 'jobTemplate.' : ''),
    schedule: parseSchedule(input),
  };
}

/**
 * Rejects a dependency cycle that `spec` would close among `existing` jobs (id → its `after` list).
 * Unknown ids in `after` are allowed (the job may be applied later); they simply never succeed until then.
 */
export function checkNoCycle(
  spec: Pick<JobSpec, 'id' | 'after'>,
  existing: ReadonlyMap<string, readonly string[]>,
): void {
  const edges = new Map(existing);
  edges.set(spec.id, spec.after);
  // Depth-first search from the new job, following `after`; a path back to it is a cycle.
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): boolean => {
    if (path.includes(id)) {
      path.push(id);
      return true;
    }
    if (seen.has(id)) return false;
    seen.add(id);
    path.push(id);
    for (const next of edges.get(id) ?? []) if (visit(next)) return true;
    path.pop();
    return false;
  };
  if (visit(spec.id)) {
    const start = path.indexOf(path[path.length - 1]!);
    throw new InvalidArgumentError(`after: dependency cycle ${path.slice(start).join(' → ')}`);
  }
}
