/** The `/v2` routes against a recording fake ServicesApi: shapes, ids as paths, flags, errors and events. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../api/http-server.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { ServiceNotFoundError } from './errors.js';
import { registerServiceRoutes } from './http.js';
import { encodeEvent, readEventStream } from './sse.js';
import type { DeploymentView, ServiceEvent, ServicesApi, ServiceSpec, ServiceView } from './types.js';

function spec(id: string): ServiceSpec {
  return {
    id,
    labels: {},
    image: 'busybox',
    env: {},
    instances: 2,
    resources: { cpus: 0.1, mem: 32, disk: 0, gpus: 0, ports: [{}] },
    role: '*',
    constraints: [],
    healthChecks: [],
    upgradeStrategy: { type: 'rolling', minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    killSelection: 'YOUNGEST_FIRST',
    backoff: { seconds: 1, factor: 1.15, maxSeconds: 300 },
    unreachableStrategy: 'disabled',
    dependencies: [],
    progressDeadlineSeconds: 600,
    autoRollback: false,
  };
}

function service(id: string): ServiceView {
  return {
    spec: spec(id),
    version: 'v1',
    instances: [
      {
        id: 't1',
        serviceId: id,
        version: 'v1',
        state: 'TASK_RUNNING',
        healthy: true,
        host: 'h1',
        ports: [31000],
      },
      { id: 't2', serviceId: id, version: 'v1', state: 'PENDING', ports: [] },
    ],
    counts: { running: 1, healthy: 1, staged: 0, unhealthy: 0 },
  };
}

function deployment(serviceId: string, kind: DeploymentView['kind'] = 'update'): DeploymentView {
  return {
    id: `d-${kind}`,
    serviceId,
    fromVersion: 'v1',
    toVersion: 'v2',
    kind,
    strategy: 'rolling',
    state: 'running',
    startedAt: 1,
    deadline: 2,
    steps: ['start 1 new', 'kill 1 old'],
    currentStep: 0,
  };
}

/** Records every call; `/shop/web` exists, nothing else does. */
class FakeApi implements ServicesApi {
  calls: Array<[string, ...unknown[]]> = [];
  listeners = new Set<(e: ServiceEvent) => void>();
  services = [service('/shop/web')];

  private find(id: string): ServiceView {
    const s = this.services.find((x) => x.spec.id === id);
    if (!s) throw new ServiceNotFoundError(id);
    return s;
  }
  async apply(docs: unknown[], opts?: { force?: boolean; dryRun?: boolean }): Promise<DeploymentView[]> {
    this.calls.push(['apply', docs, opts]);
    if (docs.some((d) => (d as { instances?: unknown }).instances === -1))
      throw new InvalidArgumentError('services[0].instances: must be >= 0, got -1');
    return docs.map((d) => deployment((d as { id: string }).id, 'create'));
  }
  async plan(doc: unknown) {
    this.calls.push(['plan', doc]);
    return {
      diff: ['instances: 2 -> 4'],
      steps: ['start 2 new'],
      placements: [{ instance: 0, reason: 'no' }],
    };
  }
  list(): ServiceView[] {
    return this.services;
  }
  get(id: string): ServiceView {
    return this.find(id);
  }
  async scale(id: string, instances: number, opts?: { force?: boolean }) {
    this.calls.push(['scale', id, instances, opts]);
    this.find(id);
    return deployment(id, 'scale');
  }
  async restart(id: string, opts?: { force?: boolean }) {
    this.calls.push(['restart', id, opts]);
    return deployment(this.find(id).spec.id, 'restart');
  }
  async rollback(id: string) {
    this.calls.push(['rollback', id]);
    return deployment(this.find(id).spec.id, 'rollback');
  }
  async remove(id: string, opts?: { force?: boolean }) {
    this.calls.push(['remove', id, opts]);
    return deployment(this.find(id).spec.id, 'delete');
  }
  deployments(): DeploymentView[] {
    return [deployment('/shop/web')];
  }
  async cancelDeployment(id: string, opts?: { force?: boolean }) {
    this.calls.push(['cancel', id, opts]);
    return opts?.force ? undefined : deployment('/shop/web', 'rollback');
  }
  queue() {
    return [
      {
        serviceId: '/shop/web',
        version: 'v1',
        waiting: 1,
        since: 1,
        reason: '1 agent fails UNIQUE hostname',
      },
    ];
  }
  subscribe(listener: (e: ServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: ServiceEvent): void {
    for (const l of this.listeners) l(e);
  }
}

function setup(): { app: FastifyInstance; api: FakeApi } {
  const app = Fastify({ logger: false });
  installErrorHandler(app, silentLogger);
  const api = new FakeApi();
  registerServiceRoutes(app, api);
  return { app, api };
}

describe('services HTTP API', () => {
  test('GET /v2/apps lists; GET /v2/apps/{id...} takes the rest of the path as the id', async () => {
    const { app } = setup();
    const list = await app.inject({ method: 'GET', url: '/v2/apps' });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list.json<{ apps: ServiceView[] }>().apps.map((a) => a.spec.id),
      ['/shop/web'],
    );
    const one = await app.inject({ method: 'GET', url: '/v2/apps/shop/web' });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json<{ app: ServiceView }>().app.spec.id, '/shop/web');
    const missing = await app.inject({ method: 'GET', url: '/v2/apps/shop/db' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, 'ERR_SERVICE_NOT_FOUND');
    const bad = await app.inject({ method: 'GET', url: '/v2/apps/Shop_Web' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ message: string }>().message, /^id: /);
  });

  test('GET /v2/apps/{id}/tasks gives host:port endpoints', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v2/apps/shop/web/tasks' });
    assert.equal(res.statusCode, 200);
    const tasks = res.json<{ tasks: Array<{ id: string; appId: string; endpoints: string[] }> }>().tasks;
    assert.deepEqual(
      tasks.map((t) => [t.id, t.appId, t.endpoints]),
      [
        ['t1', '/shop/web', ['h1:31000']],
        ['t2', '/shop/web', []],
      ],
    );
  });

  test('POST /v2/apps creates (201); an existing id is a conflict; bad specs are 400 naming the field', async () => {
    const { app, api } = setup();
    const created = await app.inject({
      method: 'POST',
      url: '/v2/apps',
      payload: { id: 'shop/db', instances: 1 },
    });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json<{ deploymentId: string }>().deploymentId, 'd-create');
    assert.deepEqual(api.calls[0], ['apply', [{ id: 'shop/db', instances: 1 }], { force: false }]);
    const exists = await app.inject({ method: 'POST', url: '/v2/apps', payload: { id: '/shop/web' } });
    assert.equal(exists.statusCode, 409);
    assert.match(exists.json<{ message: string }>().message, /already exists/);
    const bad = await app.inject({ method: 'POST', url: '/v2/apps', payload: { id: '/x', instances: -1 } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ message: string }>().message, 'services[0].instances: must be >= 0, got -1');
    const notObject = await app.inject({ method: 'POST', url: '/v2/apps', payload: [1, 2] });
    assert.equal(notObject.statusCode, 400);
  });

  test('PUT /v2/apps/{id} updates with the id from the URL; a body of only instances scales', async () => {
    const { app, api } = setup();
    const updated = await app.inject({
      method: 'PUT',
      url: '/v2/apps/shop/web?force=true',
      payload: { image: 'busybox', instances: 3 },
    });
    assert.equal(updated.statusCode, 200);
    assert.deepEqual(api.calls.at(-1), [
      'apply',
      [{ image: 'busybox', instances: 3, id: '/shop/web' }],
      { force: true },
    ]);
    const scaled = await app.inject({ method: 'PUT', url: '/v2/apps/shop/web', payload: { instances: 5 } });
    assert.equal(scaled.statusCode, 200);
    assert.equal(scaled.json<{ deployment: DeploymentView }>().deployment.kind, 'scale');
    assert.deepEqual(api.calls.at(-1), ['scale', '/shop/web', 5, { force: false }]);
    const negative = await app.inject({
      method: 'PUT',
      url: '/v2/apps/shop/web',
      payload: { instances: -2 },
    });
    assert.equal(negative.statusCode, 400);
    assert.match(negative.json<{ message: string }>().message, /^app\.instances: /);
    const mismatch = await app.inject({ method: 'PUT', url: '/v2/apps/shop/web', payload: { id: '/other' } });
    assert.equal(mismatch.statusCode, 400);
    assert.match(mismatch.json<{ message: string }>().message, /does not match/);
  });

  test('restart, rollback and delete, with force; a bad flag is a 400', async () => {
    const { app, api } = setup();
    const restart = await app.inject({ method: 'POST', url: '/v2/apps/shop/web/restart?force=true' });
    assert.equal(restart.statusCode, 200);
    assert.deepEqual(api.calls.at(-1), ['restart', '/shop/web', { force: true }]);
    const rollback = await app.inject({ method: 'POST', url: '/v2/apps/shop/web/rollback' });
    assert.equal(rollback.json<{ deployment: DeploymentView }>().deployment.kind, 'rollback');
    const del = await app.inject({ method: 'DELETE', url: '/v2/apps/shop/web' });
    assert.equal(del.statusCode, 200);
    assert.deepEqual(api.calls.at(-1), ['remove', '/shop/web', { force: false }]);
    const noAction = await app.inject({ method: 'POST', url: '/v2/apps/shop/web' });
    assert.equal(noAction.statusCode, 400);
    const badFlag = await app.inject({ method: 'DELETE', url: '/v2/apps/shop/web?force=yes' });
    assert.equal(badFlag.statusCode, 400);
    assert.equal(badFlag.json<{ message: string }>().message, 'force: must be true or false, got "yes"');
    const gone = await app.inject({ method: 'POST', url: '/v2/apps/nope/restart' });
    assert.equal(gone.statusCode, 404);
  });

  test('deployments, cancelling one (rollback, or 202 when forced), and the queue', async () => {
    const { app, api } = setup();
    const list = await app.inject({ method: 'GET', url: '/v2/deployments' });
    assert.deepEqual(
      list.json<DeploymentView[]>().map((d) => d.id),
      ['d-update'],
    );
    const cancel = await app.inject({ method: 'DELETE', url: '/v2/deployments/d-update' });
    assert.equal(cancel.statusCode, 200);
    assert.equal(cancel.json<{ deployment: DeploymentView }>().deployment.kind, 'rollback');
    const forced = await app.inject({ method: 'DELETE', url: '/v2/deployments/d-update?force=true' });
    assert.equal(forced.statusCode, 202);
    assert.deepEqual(api.calls.at(-1), ['cancel', 'd-update', { force: true }]);
    const queue = await app.inject({ method: 'GET', url: '/v2/queue' });
    assert.match(queue.json<{ queue: Array<{ reason: string }> }>().queue[0]!.reason, /UNIQUE hostname/);
  });

  test('POST /v2/apply passes dryRun and force; POST /v2/plan returns the plan', async () => {
    const { app, api } = setup();
    const dry = await app.inject({
      method: 'POST',
      url: '/v2/apply?dryRun=true',
      payload: { docs: [{ id: '/a' }, { id: '/b' }] },
    });
    assert.equal(dry.statusCode, 200);
    assert.equal(dry.json<{ deployments: DeploymentView[] }>().deployments.length, 2);
    assert.deepEqual(api.calls.at(-1), [
      'apply',
      [{ id: '/a' }, { id: '/b' }],
      { dryRun: true, force: false },
    ]);
    const noDocs = await app.inject({ method: 'POST', url: '/v2/apply', payload: { doc: {} } });
    assert.equal(noDocs.statusCode, 400);
    assert.match(noDocs.json<{ message: string }>().message, /^docs: /);
    const plan = await app.inject({ method: 'POST', url: '/v2/plan', payload: { doc: { id: '/a' } } });
    assert.deepEqual(plan.json<{ diff: string[] }>().diff, ['instances: 2 -> 4']);
    const noDoc = await app.inject({ method: 'POST', url: '/v2/plan', payload: {} });
    assert.equal(noDoc.statusCode, 400);
  });
});

describe('services events (server-sent)', () => {
  function openEvents(
    url: string,
  ): Promise<{ events: AsyncGenerator<{ event: string; data: string }>; close(): void }> {
    return new Promise((resolve, reject) => {
      const req = request(url, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        resolve({ events: readEventStream(res), close: () => res.destroy() });
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('streams events as they happen, filters by event_type, and lets go when the client leaves', async () => {
    const { app, api } = setup();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const all = await openEvents(`${base}/v2/events`);
      const deploymentsOnly = await openEvents(`${base}/v2/events?event_type=deployment_success`);
      assert.equal(api.listeners.size, 2);
      api.emit({
        eventType: 'health_status_changed_event',
        serviceId: '/a',
        taskId: 't',
        healthy: false,
        timestamp: 1,
      });
      api.emit({ eventType: 'deployment_success', deployment: deployment('/a'), timestamp: 2 });
      const first = await all.events.next();
      assert.equal(first.value?.event, 'health_status_changed_event');
      assert.deepEqual(JSON.parse(first.value!.data), {
        eventType: 'health_status_changed_event',
        serviceId: '/a',
        taskId: 't',
        healthy: false,
        timestamp: 1,
      });
      assert.equal((await all.events.next()).value?.event, 'deployment_success');
      assert.equal((await deploymentsOnly.events.next()).value?.event, 'deployment_success');
      all.close();
      deploymentsOnly.close();
      const deadline = Date.now() + 5000;
      while (api.listeners.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(api.listeners.size, 0, 'unsubscribed when the clients left');
    } finally {
      await app.close();
    }
  });

  test('an unknown event_type is a 400, and closing the server ends open streams at once', async () => {
    const { app, api } = setup();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const bad = await app.inject({ method: 'GET', url: '/v2/events?event_type=nope' });
    assert.equal(bad.statusCode, 400);
    const stream = await openEvents(`${base}/v2/events`);
    const started = Date.now();
    await app.close();
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
    const next = await stream.events.next();
    assert.equal(next.done, true, 'the stream ended');
    assert.equal(api.listeners.size, 0);
  });
});

describe('event stream format', () => {
  test('encodes multi-line data, and parses it back whatever the chunking and line endings', async () => {
    const text = encodeEvent('deployment_info', 'a\nb') + ': ping\n\n' + 'event: x\r\ndata: 1\r\n\r\n';
    assert.equal(encodeEvent('e', 'a\nb'), 'event: e\ndata: a\ndata: b\n\n');
    for (const size of [1, 2, 3, 7, text.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const got: Array<{ event: string; data: string }> = [];
      for await (const e of readEventStream(Readable.from(chunks))) got.push(e);
      assert.deepEqual(got, [
        { event: 'deployment_info', data: 'a\nb' },
        { event: 'x', data: '1' },
      ]);
    }
  });
});
