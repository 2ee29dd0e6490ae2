/**
 * `berth apply -f FILE` and `berth plan -f FILE`: declarative specs, several documents per file, split by
 * `kind`: `Service` goes to the services framework (`/v2/apply`, `/v2/plan`), `Job` and `CronJob` to the
 * jobs framework (`PUT /v1/jobs/{id}?dryRun=`). Every document is dry-run first, so that one bad document
 * creates nothing; then the real calls. `--wait` follows the deployments until each ends.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, isBerthError, RemoteError } from '../../core/errors.js';
import type { ServicesClient } from '../../frameworks/services/client.js';
import type {
  DeploymentView,
  PlanResult,
  ServiceEvent,
  ServiceView,
} from '../../frameworks/services/types.js';
import { apiToken, masterUrl } from '../config.js';
import { exit, print, warn, withMaster } from '../context.js';

export type DocKind = 'Service' | 'Job' | 'CronJob';

export interface SpecDocument {
  /** The document's index in the file, from 0. */
  index: number;
  kind: DocKind;
  /** The document's `id` as written. */
  id: string;
  doc: Record<string, unknown>;
}

const KINDS: readonly DocKind[] = ['Service', 'Job', 'CronJob'];

/** A client for the services API and the jobs apply call; loaded lazily so the CLI starts fast. */
export async function servicesClient(opts: { master?: string }): Promise<ServicesClient> {
  const { ServicesClient } = await import('../../frameworks/services/client.js');
  return new ServicesClient(masterUrl(opts.master), apiToken());
}

/** Parses a spec file: YAML (several documents) or JSON (one document, or a list of them). */
export async function parseSpecFile(text: string, name: string): Promise<unknown[]> {
  const trimmed = text.trimStart();
  if (name.endsWith('.json') || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (name.endsWith('.json'))
        throw new InvalidArgumentError(`${name}: bad JSON: ${(err as Error).message}`);
      return parseYaml(text, name); // YAML flow style also starts with { or [
    }
    return Array.isArray(value) ? value : [value];
  }
  return parseYaml(text, name);
}

async function parseYaml(text: string, name: string): Promise<unknown[]> {
  const { parseAllDocuments } = await import('yaml');
  const docs: unknown[] = [];
  for (const d of parseAllDocuments(text)) {
    const error = d.errors[0];
    if (error) throw new InvalidArgumentError(`${name}: bad YAML: ${error.message.split('\n')[0]}`);
    const value: unknown = d.toJS();
    if (value === null || value === undefined) continue; // an empty document, e.g. after a trailing ---
    if (Array.isArray(value)) docs.push(...(value as unknown[]));
    else docs.push(value);
  }
  return docs;
}

/** Checks each document's `kind` (and `id`), naming the document by its index in the file. */
/** A job document's `after:` list, as far as it is one (the server validates the rest). */
function afterOf(doc: unknown): string[] {
  const after = (doc as { after?: unknown }).after;
  return Array.isArray(after) ? after.filter((a): a is string => typeof a === 'string') : [];
}

export function classifyDocuments(docs: unknown[]): SpecDocument[] {
  if (docs.length === 0) throw new InvalidArgumentError('the file holds no documents');
  return docs.map((doc, index) => {
    const at = `documents[${index}]`;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new InvalidArgumentError(`${at}: must be a mapping with a kind (Service, Job or CronJob)`);
    const o = doc as Record<string, unknown>;
    if (o.kind === undefined)
      throw new InvalidArgumentError(`${at}.kind: is required (Service, Job or CronJob)`);
    const kind = KINDS.find((k) => k === o.kind);
    if (!kind)
      throw new InvalidArgumentError(
        `${at}.kind: unknown kind ${JSON.stringify(o.kind)} (berth applies Service, Job and CronJob)`,
      );
    if (typeof o.id !== 'string' || o.id.trim() === '')
      throw new InvalidArgumentError(
        `${at}.id: is required (a ${kind === 'Service' ? 'path like /shop/web' : 'name'})`,
      );
    return { index, kind, id: o.id.trim(), doc: o };
  });
}

/** Prefixes a server's error with the file and the document it is about (`services[1]` → `documents[3]`). */
export function inDocument(
  err: unknown,
  file: string,
  services: SpecDocument[],
  doc?: SpecDocument,
): unknown {
  if (!isBerthError(err)) return err;
  let where = doc ? `documents[${doc.index}] (${doc.kind} ${doc.id})` : undefined;
  const m = /^services\[(\d+)\]/.exec(err.message);
  const service = m ? services[Number(m[1])] : undefined;
  if (!doc && service) where = `documents[${service.index}]`;
  const status = err instanceof RemoteError ? err.status : 400;
  return new RemoteError(err.code, `${file}${where ? `, ${where}` : ''}: ${err.message}`, status);
}

async function readSpec(file: string): Promise<SpecDocument[]> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return classifyDocuments(await parseSpecFile(text, file === '-' ? 'stdin' : file));
}

interface ApplyOptions {
  master?: string;
  file: string;
  wait?: boolean;
  force?: boolean;
  timeout?: string;
}

export function registerApply(program: Command): void {
  withMaster(program.command('apply'))
    .description('create or update services and jobs from a spec file (YAML or JSON)')
    .requiredOption('-f, --file <file>', 'the spec file (- for stdin); several documents separated by ---')
    .option('--wait', 'follow the deployments until they succeed or fail; the exit code says which')
    .option('--force', 'supersede deployments that are running')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (the deployment goes on)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth apply -f examples/web.yaml --wait\n  berth apply -f web.yaml --force\n  cat web.json | berth apply -f -',
    )
    .action(async (opts: ApplyOptions) => {
      const docs = await readSpec(opts.file);
      const timeoutMs = parseTimeout(opts.timeout);
      const client = await servicesClient(opts);
      const services = docs.filter((d) => d.kind === 'Service');
      const jobs = docs.filter((d) => d.kind !== 'Service');
      const serviceDocs = services.map((d) => d.doc);
      const file = opts.file === '-' ? 'stdin' : opts.file;
      const force = opts.force === true;
      // 1. Dry runs of everything: nothing is created unless every document is good.
      if (services.length > 0)
        await client.apply(serviceDocs, { dryRun: true, force }).catch((err: unknown) => {
          throw inDocument(err, file, services);
        });
      for (const job of jobs)
        await client.putJob(job.id, job.doc, { dryRun: true }).catch((err: unknown) => {
          throw inDocument(err, file, services, job);
        });
      // Each dry run sees the jobs that exist, not the other new ones: a cycle among this file's own jobs
      // is found here, before anything is created.
      if (jobs.length > 1) {
        const { checkNoCycle } = await import('../../frameworks/jobs/spec.js');
        const graph = new Map(jobs.map((j) => [j.id, afterOf(j.doc)]));
        for (const job of jobs)
          try {
            checkNoCycle({ id: job.id, after: afterOf(job.doc) }, graph);
          } catch (err) {
            throw inDocument(err, file, services, job);
          }
      }
      // 2. The real calls. The event stream opens first, so that no deployment event is missed.
      const abort = new AbortController();
      const events = opts.wait && services.length > 0 ? await client.events(abort.signal) : undefined;
      try {
        const deployments =
          services.length > 0
            ? await client.apply(serviceDocs, { force }).catch((err: unknown) => {
                throw inDocument(err, file, services);
              })
            : [];
        for (const job of jobs) {
          await client.putJob(job.id, job.doc, { dryRun: false }).catch((err: unknown) => {
            throw inDocument(err, file, services, job);
          });
          print(`${job.kind.toLowerCase()} ${job.id}: applied`);
        }
        const changed = new Set(deployments.map((d) => d.serviceId));
        for (const s of services)
          if (!changed.has(normalizeId(s.id))) print(`service ${normalizeId(s.id)}: unchanged`);
        for (const d of deployments) print(describeStarted(d));
        if (events && deployments.length > 0) {
          const ok = await followDeployments(client, deployments, events, timeoutMs);
          if (!ok) exit.code = 1;
        }
      } finally {
        abort.abort();
      }
    });

  withMaster(program.command('plan'))
    .description('show what `berth apply -f FILE` would change and where instances would go; creates nothing')
    .requiredOption('-f, --file <file>', 'the spec file (- for stdin)')
    .addHelpText('after', '\nExamples:\n  berth plan -f examples/web.yaml')
    .action(async (opts: { master?: string; file: string }) => {
      const docs = await readSpec(opts.file);
      const client = await servicesClient(opts);
      const file = opts.file === '-' ? 'stdin' : opts.file;
      const services = docs.filter((d) => d.kind === 'Service');
      const out: string[] = [];
      for (const d of docs) {
        if (d.kind === 'Service') {
          const plan = await client.plan(d.doc).catch((err: unknown) => {
            throw inDocument(err, file, services, d);
          });
          out.push(formatPlan(normalizeId(d.id), plan));
        } else {
          await client.putJob(d.id, d.doc, { dryRun: true }).catch((err: unknown) => {
            throw inDocument(err, file, services, d);
          });
          out.push(`${d.kind.toLowerCase()} ${d.id}: valid (jobs are planned when they run)\n`);
        }
      }
      print(out.join('\n'));
    });
}

export function normalizeId(id: string): string {
  return id.startsWith('/') ? id : `/${id}`;
}

function parseTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`bad --timeout "${raw}": use seconds, e.g. 300`);
  return n * 1000;
}

export function describeStarted(d: DeploymentView): string {
  const versions = d.fromVersion ? `${d.fromVersion} -> ${d.toVersion}` : d.toVersion;
  return `service ${d.serviceId}: ${d.kind} deployment ${d.id} started (${d.strategy}, version ${versions})`;
}

/** The plan as text: the diff, the steps, and each instance's placement or why it has none. */
export function formatPlan(id: string, plan: PlanResult): string {
  const lines = [`service ${id}`];
  lines.push('  changes:');
  if (plan.diff.length === 0) lines.push('    (none)');
  for (const d of plan.diff) lines.push(`    ${d}`);
  lines.push('  steps:');
  if (plan.steps.length === 0) lines.push('    (none)');
  plan.steps.forEach((s, i) => lines.push(`    ${i + 1}. ${s}`));
  if (plan.placements.length > 0) lines.push('  placement:');
  for (const p of plan.placements) {
    if (p.host !== undefined) {
      const ports = p.ports && p.ports.length > 0 ? ` ports ${p.ports.join(',')}` : '';
      lines.push(`    instance ${p.instance}: ${p.host}${ports}`);
    } else lines.push(`    instance ${p.instance}: not placed: ${p.reason ?? 'no agent fits'}`);
  }
  const unplaced = plan.placements.filter((p) => p.host === undefined).length;
  if (unplaced > 0) lines.push(`  ${unplaced} of ${plan.placements.length} instances cannot be placed now`);
  return `${lines.join('\n')}\n`;
}

// ---- following deployments -------------------------------------------------------------------------

const FINAL = new Set<DeploymentView['state']>(['succeeded', 'failed', 'cancelled', 'superseded']);

interface Tracked {
  view: DeploymentView;
  counts?: { running: number; healthy: number; wanted: number };
}

/** One line about a deployment's progress, e.g. `/shop/web update: step 2/4 kill 1 old (healthy 3/4)`. */
export function progressLine(t: Tracked): string {
  const d = t.view;
  const total = d.steps.length;
  const step = d.steps[Math.min(d.currentStep, total - 1)];
  const where = FINAL.has(d.state)
    ? d.state
    : total > 0
      ? `step ${Math.min(d.currentStep + 1, total)}/${total}${step ? ` ${step}` : ''}`
      : 'running';
  // The counts come from the last poll: shown while it runs, where a slightly old figure still informs.
  const counts = t.counts && !FINAL.has(d.state) ? ` (healthy ${t.counts.healthy}/${t.counts.wanted})` : '';
  const message = d.message && d.state !== 'succeeded' ? `: ${d.message}` : '';
  return `${d.serviceId} ${d.kind}: ${where}${counts}${message}`;
}

interface Display {
  update(t: Tracked): void;
  stop(): void;
}

async function createDisplay(tracked: Tracked[]): Promise<Display> {
  const stream = process.stderr;
  if (!stream.isTTY) {
    const last = new Map<string, string>();
    const show = (t: Tracked): void => {
      const line = progressLine(t);
      if (last.get(t.view.id) === line) return;
      last.set(t.view.id, line);
      stream.write(`${line}\n`);
    };
    tracked.forEach(show);
    return { update: show, stop() {} };
  }
  const { default: cliProgress } = await import('cli-progress');
  const multi = new cliProgress.MultiBar(
    { stream, format: '[{bar}] {line}', barsize: 20, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, ReturnType<typeof multi.create>>();
  const show = (t: Tracked): void => {
    const total = Math.max(t.view.steps.length, 1);
    const value = t.view.state === 'succeeded' ? total : Math.min(t.view.currentStep, total);
    const bar = bars.get(t.view.id);
    if (bar) {
      bar.setTotal(total);
      bar.update(value, { line: progressLine(t) });
    } else bars.set(t.view.id, multi.create(total, value, { line: progressLine(t) }));
  };
  tracked.forEach(show);
  return { update: show, stop: () => multi.stop() };
}

/**
 * Follows deployments until each has ended: by the event stream, and by polling `/v2/deployments` (a
 * deployment that left the list is judged by its service). Resolves true when all succeeded.
 */
export async function followDeployments(
  client: ServicesClient,
  started: DeploymentView[],
  events: AsyncGenerator<ServiceEvent> | undefined,
  timeoutMs?: number,
): Promise<boolean> {
  const tracked = new Map<string, Tracked>(started.map((d) => [d.id, { view: d }]));
  const display = await createDisplay([...tracked.values()]);
  const pending = (): Tracked[] => [...tracked.values()].filter((t) => !FINAL.has(t.view.state));
  const update = (view: DeploymentView): void => {
    const t = tracked.get(view.id);
    if (!t || FINAL.has(t.view.state)) return;
    t.view = view;
    display.update(t);
  };
  let wake: (() => void) | undefined;
  const reading = (async () => {
    if (!events) return;
    for await (const e of events) {
      if (!('deployment' in e)) continue;
      update(e.deployment);
      wake?.();
    }
  })().catch(() => undefined); // the poll below goes on without events
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  try {
    while (pending().length > 0) {
      if (Date.now() > deadline) {
        warn(`stopped waiting after ${timeoutMs! / 1000} s; the deployments go on: \`berth deployments\``);
        return false;
      }
      await poll(client, tracked, update, display);
      if (pending().length === 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    display.stop();
    // The caller aborts the event stream, and `reading` ends then (awaiting it here would wait for one more event).
    void reading;
  }
  let ok = true;
  for (const t of tracked.values()) {
    if (t.view.state === 'succeeded') print(`service ${t.view.serviceId}: deployment ${t.view.id} succeeded`);
    else {
      ok = false;
      warn(
        `service ${t.view.serviceId}: deployment ${t.view.id} ${t.view.state}${t.view.message ? `: ${t.view.message}` : ''}`,
      );
    }
  }
  return ok;
}

async function poll(
  client: ServicesClient,
  tracked: Map<string, Tracked>,
  update: (view: DeploymentView) => void,
  display: Display,
): Promise<void> {
  const listed = new Map((await client.deployments()).map((d) => [d.id, d]));
  for (const t of [...tracked.values()].filter((x) => !FINAL.has(x.view.state))) {
    const now = listed.get(t.view.id);
    const service = await client.get(t.view.serviceId).catch((err: unknown) => {
      if (isBerthError(err) && /NOT_FOUND$/.test(err.code)) return undefined;
      throw err;
    });
    if (service)
      t.counts = {
        running: service.counts.running,
        healthy: service.counts.healthy,
        wanted: service.spec.instances,
      };
    if (now) update(now);
    else update(judgeEnded(t.view, service));
    display.update(t);
  }
}

/** A deployment that is no longer listed: succeeded if its service is at its target version (or gone, for a delete). */
export function judgeEnded(d: DeploymentView, service: ServiceView | undefined): DeploymentView {
  if (d.kind === 'delete')
    return service
      ? { ...d, state: 'failed', message: 'the service is still there' }
      : { ...d, state: 'succeeded' };
  if (service && service.version === d.toVersion && service.deployment !== d.id && !service.lastFailure)
    return { ...d, state: 'succeeded' };
  if (service && service.deployment === d.id) return d; // listed again soon; keep waiting
  return {
    ...d,
    state: 'failed',
    message: service?.lastFailure ?? 'the deployment ended without reaching its version',
  };
}
