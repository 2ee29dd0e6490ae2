/**
 * The services CLI (`berth apply`, `plan`, `services`, `service show`, `scale`, `delete`, `deployments`,
 * `deployment cancel`)
 * as a user runs it, against the real `/v2` routes on a fake ServicesApi that uses the real spec parser,
 * plus a fake jobs endpoint. No runc needed: this tests the CLI and the routes, not the controller.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../src/api/http-server.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { DeploymentNotFoundError, ServiceNotFoundError } from '../../src/frameworks/services/errors.js';
import { registerServiceRoutes } from '../../src/frameworks/services/http.js';
import { parseServiceSpecs, parseServiceSpec } from '../../src/frameworks/services/spec.js';
import type {
  DeploymentView,
  PlanResult,
  QueueEntry,
  ServiceEvent,
  ServicesApi,
  ServiceView,
} from '../../src/frameworks/services/types.js';
import { runCli } from './harness.js';

/** Services that deploy in ~300 ms: one `deployment_info`, then success, or failure when env.FAIL is set. */
class FakeServices implements ServicesApi {
  readonly services = new Map<string, ServiceView>();
  readonly running = new Map<string, DeploymentView>();
  readonly listeners = new Set<(e: ServiceEvent) => void>();
  readonly calls: string[] = [];
  private seq = 0;

  reset(): void {
    this.services.clear();
    this.running.clear();
    this.calls.length = 0;
  }

  private emit(e: ServiceEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** How long a deployment takes; the cancel test makes it long enough to cancel. */
  deployMs = 300;

  private deploy(
    view: ServiceView,
    kind: DeploymentView['kind'],
    fail: boolean,
    ms = this.deployMs,
  ): DeploymentView {
    const d: DeploymentView = {
      id: `dep${++this.seq}`,
      serviceId: view.spec.id,
      toVersion: view.version,
      kind,
      strategy: view.spec.upgradeStrategy.type,
      state: 'running',
      startedAt: Date.now(),
      deadline: Date.now() + 60_000,
      steps: ['start 1 new', 'kill 1 old'],
      currentStep: 0,
    };
    this.running.set(d.id, d);
    view.deployment = d.id;
    setTimeout(() => {
      this.emit({
        eventType: 'deployment_info',
        deployment: { ...d, currentStep: 1 },
        timestamp: Date.now(),
      });
    }, ms / 2).unref();
    setTimeout(() => {
      if (!this.running.delete(d.id)) return; // cancelled

      delete view.deployment;
      const end: DeploymentView = fail
        ? { ...d, state: 'failed', message: 'no progress within 60 s; rolled back to the last good version' }
        : { ...d, state: 'succeeded', currentStep: 2 };
      if (fail) view.lastFailure = end.message!;
      this.emit({
        eventType: fail ? 'deployment_failed' : 'deployment_success',
        deployment: end,
        timestamp: 0,
      });
    }, ms).unref();
    return d;
  }

  async apply(docs: unknown[], opts: { force?: boolean; dryRun?: boolean } = {}): Promise<DeploymentView[]> {
    this.calls.push(`apply dryRun=${opts.dryRun === true}`);
    const specs = parseServiceSpecs(docs);
    if (opts.dryRun) return [];
    return specs.map((spec) => {
      const version = `v${++this.seq}`;
      const view: ServiceView = {
        spec,
        version,
        instances: Array.from({ length: spec.instances }, (_, i) => ({
          id: `${spec.id.slice(1)}.${i}`,
          serviceId: spec.id,
          version,
          state: 'TASK_RUNNING',
          healthy: true,
          agentId: 'agent-1',
          host: '127.0.0.1',
          ports: [31000 + i],
          startedAt: Date.now(),
        })),
        counts: { running: spec.instances, healthy: spec.instances, staged: 0, unhealthy: 0 },
      };
      const existed = this.services.has(spec.id);
      this.services.set(spec.id, view);
      return this.deploy(view, existed ? 'update' : 'create', spec.env.FAIL === '1');
    });
  }

  async plan(doc: unknown): Promise<PlanResult> {
    const spec = parseServiceSpec(doc);
    this.calls.push('plan');
    return {
      diff: this.services.has(spec.id) ? ['instances: 2 -> 4'] : [`create ${spec.id}`],
      steps: [`start ${spec.instances} new`],
      placements: Array.from({ length: spec.instances }, (_, i) =>
        i < 3
          ? { instance: i, host: `h${i}`, ports: [31000] }
          : { instance: i, reason: '3 agents fail UNIQUE hostname (each already has an instance)' },
      ),
    };
  }

  list(): ServiceView[] {
    return [...this.services.values()];
  }

  get(id: string): ServiceView {
    const s = this.services.get(id);
    if (!s) throw new ServiceNotFoundError(id);
    return s;
  }

  async scale(id: string, instances: number): Promise<DeploymentView> {
    this.calls.push(`scale ${id} ${instances}`);
    const s = this.get(id);
    s.spec = { ...s.spec, instances };
    return this.deploy(s, 'scale', false);
  }

  async restart(id: string): Promise<DeploymentView> {
    return this.deploy(this.get(id), 'restart', false);
  }

  async rollback(id: string): Promise<DeploymentView> {
    return this.deploy(this.get(id), 'rollback', false);
  }

  async remove(id: string): Promise<DeploymentView> {
    this.calls.push(`remove ${id}`);
    const s = this.get(id);
    this.services.delete(id);
    return this.deploy(s, 'delete', false);
  }

  deployments(): DeploymentView[] {
    return [...this.running.values()];
  }

  async cancelDeployment(id: string, opts: { force?: boolean } = {}): Promise<DeploymentView | undefined> {
    this.calls.push(`cancel ${id} force=${opts.force === true}`);
    const d = this.running.get(id);
    if (!d) throw new DeploymentNotFoundError(id);
    this.running.delete(id);
    const svc = this.services.get(d.serviceId);
    return opts.force || !svc ? undefined : this.deploy(svc, 'rollback', false, 300);
  }

  queue(): QueueEntry[] {
    return [...this.services.values()]
      .filter((s) => s.spec.instances > s.counts.running)
      .map((s) => ({
        serviceId: s.spec.id,
        version: s.version,
        waiting: s.spec.instances - s.counts.running,
        since: Date.now(),
        reason: `${s.spec.instances - s.counts.running} of ${s.spec.instances} instances unplaced: 3 agents fail UNIQUE hostname`,
      }));
  }

  subscribe(listener: (e: ServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

describe('the services CLI against the /v2 routes', () => {
  const api = new FakeServices();
  const jobCalls: string[] = [];
  let app: FastifyInstance;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(join(tmpdir(), 'berth-services-cli-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cli = (args: string[]) => runCli(args, env);

  before(async () => {
    app = Fastify({ logger: false, forceCloseConnections: true });
    installErrorHandler(app, silentLogger);
    registerServiceRoutes(app, api);
    app.put<{ Params: { id: string }; Querystring: { dryRun?: string }; Body: { schedule?: string } }>(
      '/v1/jobs/:id',
      async (req) => {
        if (req.body.schedule === 'bad')
          throw new InvalidArgumentError('schedule: bad cron expression "bad"');
        jobCalls.push(`put ${req.params.id} dryRun=${req.query.dryRun}`);
        return { id: req.params.id };
      },
    );
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    env = { ...process.env, BERTH_MASTER: url, BERTH_HOME: dir, BERTH_TOKEN: '' };
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.reset();
    jobCalls.length = 0;
  });

  const webYaml = (id: string, extra = ''): string =>
    `kind: Service\nid: ${id}\nimage: busybox\ninstances: 2\ncommand: httpd -f -p $PORT0\nresources:\n  ports: 1\n${extra}`;

  test('apply: dry-runs every document (services and jobs), then applies them', async () => {
    const path = file(
      'mixed.yaml',
      `${webYaml('/shop/web')}---\nkind: Job\nid: nightly\nschedule: "0 3 * * *"\n---\n${webYaml('shop/api')}`,
    );
    const r = await cli(['apply', '-f', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(api.calls, ['apply dryRun=true', 'apply dryRun=false']);
    assert.deepEqual(jobCalls, ['put nightly dryRun=true', 'put nightly dryRun=false']);
    assert.match(r.stdout, /service \/shop\/web: create deployment dep\d+ started/);
    assert.match(r.stdout, /service \/shop\/api: create deployment dep\d+ started/);
    assert.match(r.stdout, /job nightly: applied/);
    assert.deepEqual([...api.services.keys()], ['/shop/web', '/shop/api']);
  });

  test('apply: an unknown kind names the document, and nothing is sent', async () => {
    const path = file('unknown.yaml', `${webYaml('/a')}---\nkind: Deployment\nid: x\n`);
    const r = await cli(['apply', '-f', path]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /documents\[1\]\.kind: unknown kind "Deployment"/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.deepEqual(api.calls, []);
  });

  test('apply: a bad service after a job names its document and field; nothing is created', async () => {
    const path = file(
      'bad.yaml',
      `kind: Job\nid: j1\n---\n${webYaml('/ok')}---\n${webYaml('/bad').replace('instances: 2', 'instances: -1')}`,
    );
    const r = await cli(['apply', '-f', path]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /documents\[2\]: services\[1\]\.instances: must be >= 0/);
    assert.deepEqual(api.calls, ['apply dryRun=true']);
    assert.deepEqual(jobCalls, []);
    assert.equal(api.services.size, 0);
  });

  test('apply: a bad job fails its dry run, and no service is created', async () => {
    const path = file('badjob.yaml', `${webYaml('/ok')}---\nkind: CronJob\nid: c1\nschedule: bad\n`);
    const r = await cli(['apply', '-f', path]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /documents\[1\] \(CronJob c1\): schedule: bad cron expression/);
    assert.deepEqual(api.calls, ['apply dryRun=true']);
    assert.equal(api.services.size, 0);
  });

  test('apply: bad YAML and duplicate ids are one clear line', async () => {
    const yaml = await cli(['apply', '-f', file('syntax.yaml', 'kind: Service\nid: [unclosed\n')]);
    assert.equal(yaml.code, 64);
    assert.match(yaml.stderr, /bad YAML/);
    const dup = await cli(['apply', '-f', file('dup.yaml', `${webYaml('/d')}---\n${webYaml('/d')}`)]);
    assert.equal(dup.code, 64);
    assert.match(dup.stderr, /documents\[1\]: services\[1\]\.id: duplicate id "\/d"/);
    assert.equal(api.services.size, 0);
  });

  test('apply --wait: exit 0 once the deployment succeeds; a JSON file works too', async () => {
    const path = file(
      'web.json',
      JSON.stringify({
        kind: 'Service',
        id: '/web',
        image: 'busybox',
        command: 'true',
        resources: { ports: 1 },
      }),
    );
    const r = await cli(['apply', '-f', path, '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /service \/web: deployment dep\d+ succeeded/);
    assert.match(r.stderr, /\/web create: step 2\/2 kill 1 old/, 'a progress line per change');
  });

  test('apply --wait: a failed deployment exits non-zero with its message', async () => {
    const r = await cli(['apply', '-f', file('fail.yaml', webYaml('/web', 'env:\n  FAIL: "1"\n')), '--wait']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /deployment dep\d+ failed: no progress within 60 s; rolled back/);
  });

  test('plan: the diff, the steps and per-instance placement or reason; nothing is created', async () => {
    const r = await cli([
      'plan',
      '-f',
      file('plan.yaml', webYaml('/web').replace('instances: 2', 'instances: 4')),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /service \/web\n {2}changes:\n {4}create \/web\n {2}steps:\n {4}1\. start 4 new/);
    assert.match(r.stdout, /instance 0: h0 ports 31000/);
    assert.match(r.stdout, /instance 3: not placed: 3 agents fail UNIQUE hostname/);
    assert.match(r.stdout, /1 of 4 instances cannot be placed now/);
    assert.deepEqual(api.calls, ['plan']);
    assert.equal(api.services.size, 0);
  });

  test('services, service show, scale --wait, deployments, deployment cancel and delete', async () => {
    assert.equal((await cli(['apply', '-f', file('w.yaml', webYaml('/web'))])).code, 0);
    const list = await cli(['services']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^ID\s+RUNNING\s+HEALTHY\s+WANTED\s+VERSION\s+DEPLOYMENT\n\/web\s+2\s+2\s+2\s+v\d+/,
    );
    const deployments = await cli(['deployments']);
    assert.match(deployments.stdout, /^ID\s+SERVICE\s+KIND/);
    const show = await cli(['service', 'show', 'web']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /service: {5}\/web/);
    assert.match(show.stdout, /INSTANCE\s+STATE\s+HEALTH\s+HOST\s+AGENT\s+PORTS\s+VERSION/);
    assert.match(show.stdout, /web\.1\s+RUNNING\s+healthy\s+127\.0\.0\.1\s+agent-1\s+31001/);
    const scale = await cli(['scale', '/web', '5', '--wait']);
    assert.equal(scale.code, 0, scale.stderr);
    assert.match(scale.stdout, /scale deployment dep\d+ started[\s\S]*succeeded/);
    assert.ok(api.calls.includes('scale /web 5'));
    const waiting = await cli(['services']);
    assert.match(waiting.stdout, /waiting to launch:\n {2}\/web: 3 waiting: 3 of 5 instances unplaced/);
    const badScale = await cli(['scale', '/web', '-1']);
    assert.notEqual(badScale.code, 0);
    api.deployMs = 60_000;
    const slow = await cli(['scale', '/web', '2']);
    const slowId = /deployment (dep\d+)/.exec(slow.stdout)?.[1];
    assert.ok(slowId, slow.stdout);
    const cancel = await cli(['deployment', 'cancel', slowId, '--wait']);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(
      cancel.stdout,
      new RegExp(
        `deployment ${slowId} cancelled; service /web: rollback deployment dep\\d+ started[\\s\\S]*succeeded`,
      ),
    );
    const unknown = await cli(['deployment', 'cancel', 'dep999']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /deployment "dep999" not found/);
    const forced = await cli(['scale', '/web', '3']);
    const forcedId = /deployment (dep\d+)/.exec(forced.stdout)?.[1] ?? '';
    const stop = await cli(['deployment', 'cancel', forcedId, '--force']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout.trim(), `deployment ${forcedId} stopped where it was`);
    assert.ok(api.calls.includes(`cancel ${forcedId} force=true`));
    api.deployMs = 300;
    const del = await cli(['delete', '/web']);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(api.calls.includes('remove /web'));
    const gone = await cli(['service', 'show', '/web']);
    assert.equal(gone.code, 66);
    assert.match(gone.stderr, /service "\/web" not found/);
  });
});
