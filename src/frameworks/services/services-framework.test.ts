import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../core/clock.js';
import { MemoryStore } from '../../store/memory/memory-store.js';
import { ServicesFramework } from './services-framework.js';
import { FakeMaster, serviceDoc, settle } from './test-support.js';
import type { ServiceEvent } from './types.js';

async function setup(
  agents = 3,
  store = new MemoryStore(),
  clock = new FakeClock(1_000_000),
  master = new FakeMaster(agents),
): Promise<{
  fw: ServicesFramework;
  master: FakeMaster;
  clock: FakeClock;
  store: MemoryStore;
  events: ServiceEvent[];
}> {
  const fw = new ServicesFramework({ store, transport: master.transport, clock, backoffResetMs: 60_000 });
  const events: ServiceEvent[] = [];
  fw.subscribe((e) => events.push(e));
  await fw.start();
  await settle();
  return { fw, master, clock, store, events };
}

/** Offers, then lets launches and updates flow, `rounds` times. */
async function converge(master: FakeMaster, rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    master.offer();
    await settle();
  }
}

describe('ServicesFramework', () => {
  it('creates a service: instances launched with ports and env, deployment succeeds', async () => {
    const { fw, master, events } = await setup();
    const [dep] = await fw.apply([serviceDoc({ instances: 3, env: { MODE: 'x' } })]);
    assert.equal(dep?.kind, 'create');
    await converge(master);
    const view = fw.get('/shop/web');
    assert.equal(view.counts.running, 3);
    assert.equal(view.deployment, undefined);
    const task = master.live()[0]!.task;
    const env = Object.fromEntries(task.command!.environment!.variables.map((v) => [v.name, v.value]));
    assert.equal(env.MODE, 'x');
    assert.match(env.PORT0 ?? '', /^31\d{3}$/);
    assert.equal(env.PORT_HTTP, env.PORT0);
    assert.ok(env.HOST?.startsWith('host-'));
    assert.equal(fw.deployments().find((d) => d.id === dep.id)?.state, 'succeeded');
    assert.ok(events.some((e) => e.eventType === 'deployment_success'));
    await fw.stop();
  });

  it('rejects bad specs naming the field, creating nothing', async () => {
    const { fw } = await setup();
    await assert.rejects(
      fw.apply([serviceDoc({ id: '/a' }), serviceDoc({ id: '/b', instances: -1 })]),
      /services\[1\]\.instances: must be >= 0/,
    );
    await assert.rejects(fw.apply([serviceDoc(), serviceDoc()]), /services\[1\]\.id: duplicate id/);
    await assert.rejects(
      fw.apply([serviceDoc({ dependencies: ['/nope'] })]),
      /services\[0\]\.dependencies\[0\]: no service "\/nope"/,
    );
    await assert.rejects(
      fw.apply([
        serviceDoc({ id: '/a', dependencies: ['/b'] }),
        serviceDoc({ id: '/b', dependencies: ['/a'] }),
      ]),
      /dependencies: a cycle: \/a -> \/b -> \/a/,
    );
    await assert.rejects(
      fw.apply([serviceDoc({ constraints: [['hostname', 'SOMETIMES']] })]),
      /services\[0\]\.constraints\[0\]: unknown operator/,
    );
    assert.deepEqual(fw.list(), []);
    await fw.stop();
  });

  it('rolling upgrade: never below the minimum ready, old killed only after new are ready', async () => {
    const { fw, master } = await setup();
    master.onLaunch = () => [{ healthy: true }];
    const health = [{ protocol: 'HTTP', path: '/', gracePeriodSeconds: 5 }];
    await fw.apply([serviceDoc({ instances: 4, healthChecks: health })]);
    await converge(master);
    assert.equal(fw.get('/shop/web').counts.healthy, 4);
    // New instances stay unhealthy until the test says so.
    master.onLaunch = () => [];
    const upgradeStrategy = { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 };
    const [dep] = await fw.apply([
      serviceDoc({ instances: 4, healthChecks: health, env: { V: '2' }, upgradeStrategy }),
    ]);
    assert.equal(dep?.kind, 'update');
    assert.deepEqual(dep?.steps, ['start 2 new', 'kill 2 old', 'start 2 new', 'kill 2 old']);
    let minReady = Infinity;
    let maxAlive = 0;
    for (let round = 0; round < 12; round++) {
      master.offer();
      await settle();
      const view = fw.get('/shop/web');
      minReady = Math.min(minReady, view.instances.filter((i) => i.ready).length);
      maxAlive = Math.max(maxAlive, master.live('shop_web').length);
      // Make the new ones healthy one round later.
      for (const t of master.live('shop_web'))
        if (t.task.command?.environment?.variables.some((v) => v.name === 'V') && t.state === 'TASK_RUNNING')
          master.update(t.task.task_id.value, 'TASK_RUNNING', { healthy: true });
      await settle();
    }
    assert.ok(minReady >= 4, `ready fell to ${minReady}`);
    assert.ok(maxAlive <= 6, `alive rose to ${maxAlive}`);
    const view = fw.get('/shop/web');
    assert.equal(view.instances.length, 4);
    assert.ok(view.instances.every((i) => i.version === view.version && i.ready));
    assert.equal(fw.deployments().find((d) => d.id === dep!.id)?.state, 'succeeded');
    await fw.stop();
  });

  it('blue/green: a full new set starts, and the old set is killed once it is all ready', async () => {
    const { fw, master } = await setup();
    await fw.apply([serviceDoc({ instances: 3 })]);
    await converge(master);
    const oldIds = fw.get('/shop/web').instances.map((i) => i.id);
    master.onLaunch = () => [];
    const bg = {
      upgradeStrategy: { type: 'blueGreen' },
      readinessCheck: { protocol: 'HTTP', path: '/ready' },
    };
    await fw.apply([serviceDoc({ instances: 3, ...bg })]);
    await converge(master, 2);
    let view = fw.get('/shop/web');
    assert.equal(view.instances.length, 6, 'old and new sets run side by side');
    const fresh = view.instances.filter((i) => !oldIds.includes(i.id));
    // Two of three ready: the old set stays.
    for (const i of fresh.slice(0, 2))
      master.update(i.id, 'TASK_RUNNING', { check_status: { type: 'HTTP', http: { status_code: 200 } } });
    await settle();
    assert.equal(master.live('shop_web').length, 6);
    master.update(fresh[2]!.id, 'TASK_RUNNING', {
      check_status: { type: 'HTTP', http: { status_code: 204 } },
    });
    await settle();
    view = fw.get('/shop/web');
    assert.deepEqual(view.instances.map((i) => i.id).sort(), fresh.map((i) => i.id).sort());
    assert.equal(view.deployment, undefined);
    await fw.stop();
  });

  it('a deployment without progress fails at its deadline and rolls back, keeping the old instances', async () => {
    const { fw, master, clock, events } = await setup();
    master.onLaunch = () => [{ healthy: true }];
    const doc = {
      instances: 2,
      healthChecks: [{ protocol: 'TCP' }],
      progressDeadlineSeconds: 60,
      autoRollback: true,
    };
    await fw.apply([serviceDoc(doc)]);
    await converge(master);
    const oldIds = fw
      .get('/shop/web')
      .instances.map((i) => i.id)
      .sort();
    master.onLaunch = () => [{ healthy: false }];
    const [dep] = await fw.apply([serviceDoc({ ...doc, image: 'busybox:broken' })]);
    await converge(master);
    assert.deepEqual(master.live('shop_web').filter((t) => oldIds.includes(t.task.task_id.value)).length, 2);
    clock.advance(61_000);
    await settle();
    const failed = fw.deployments().find((d) => d.id === dep!.id);
    assert.equal(failed?.state, 'failed');
    assert.match(failed?.message ?? '', /no progress in 60s/);
    assert.ok(events.some((e) => e.eventType === 'deployment_failed'));
    const rollback = fw.deployments().find((d) => d.kind === 'rollback');
    assert.ok(rollback, 'a rollback deployment started');
    await converge(master);
    const view = fw.get('/shop/web');
    assert.deepEqual(view.instances.map((i) => i.id).sort(), oldIds, 'the old instances were never killed');
    assert.equal(view.spec.image, 'busybox');
    assert.equal(fw.deployments().find((d) => d.id === rollback.id)?.state, 'succeeded');
    await fw.stop();
  });

  it('replaces a failed instance after a backoff that shows in the queue', async () => {
    const { fw, master, clock } = await setup();
    await fw.apply([serviceDoc({ instances: 2, backoff: { seconds: 10, factor: 2, maxSeconds: 100 } })]);
    await converge(master);
    const victim = fw.get('/shop/web').instances[0]!.id;
    master.update(victim, 'TASK_FAILED', { message: 'exited with status 137' });
    await settle();
    const [entry] = fw.queue();
    assert.equal(entry?.serviceId, '/shop/web');
    assert.equal(entry?.waiting, 1);
    assert.match(entry?.reason ?? '', /^backoff until .* after 1 failure/);
    await converge(master, 2);
    assert.equal(master.live('shop_web').length, 1, 'not replaced during the backoff');
    clock.advance(10_000);
    await settle();
    await converge(master, 2);
    assert.equal(master.live('shop_web').length, 2);
    assert.deepEqual(fw.queue(), []);
    // A second failure soon after doubles the delay.
    master.update(master.live('shop_web')[0]!.task.task_id.value, 'TASK_FAILED');
    await settle();
    assert.equal(fw.queue()[0]?.backoffUntil, clock.now() + 20_000);
    await fw.stop();
  });

  it('scales down by killSelection and needs force during a deployment', async () => {
    const { fw, master, clock } = await setup();
    await fw.apply([serviceDoc({ instances: 3, killSelection: 'OLDEST_FIRST' })]);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await converge(master, 1);
    }
    const oldest = fw
      .get('/shop/web')
      .instances.map((i) => i.id)
      .sort()[0];
    await fw.scale('/shop/web', 2);
    await converge(master);
    const ids = fw.get('/shop/web').instances.map((i) => i.id);
    assert.equal(ids.length, 2);
    assert.ok(!ids.includes(oldest!), 'the oldest went first');
    // A deployment that cannot finish (no offers) blocks scale without force.
    const [dep] = await fw.apply([serviceDoc({ instances: 2, env: { V: '3' } })]);
    await assert.rejects(fw.scale('/shop/web', 5), new RegExp(`deployment ${dep!.id}`));
    const forced = await fw.scale('/shop/web', 1, { force: true });
    assert.equal(fw.deployments().find((d) => d.id === dep!.id)?.state, 'superseded');
    await converge(master, 4);
    assert.equal(fw.get('/shop/web').instances.length, 1);
    assert.equal(fw.deployments().find((d) => d.id === forced.id)?.state, 'succeeded');
    await fw.stop();
  });

  it('waits for dependencies before launching', async () => {
    const { fw, master } = await setup();
    await fw.apply([
      serviceDoc({ id: '/shop/web', dependencies: ['/shop/db'] }),
      serviceDoc({ id: '/shop/db', instances: 1 }),
    ]);
    await settle();
    assert.match(
      fw.queue().find((q) => q.serviceId === '/shop/web')?.reason ?? '',
      /waiting for dependencies: \/shop\/db/,
    );
    master.offer();
    await settle();
    assert.equal(master.live('shop_web').length, 0);
    assert.equal(master.live('shop_db').length, 1);
    await converge(master);
    assert.equal(master.live('shop_web').length, 2);
    await fw.stop();
  });

  it('queues what cannot be placed with the reason (UNIQUE hostname on 3 agents)', async () => {
    const { fw, master } = await setup(3);
    await fw.apply([serviceDoc({ instances: 4, constraints: [['hostname', 'UNIQUE']] })]);
    await converge(master);
    assert.equal(master.live('shop_web').length, 3);
    const [entry] = fw.queue();
    assert.equal(entry?.waiting, 1);
    assert.match(entry?.reason ?? '', /1 of 1 instances? unplaced: 3 agents fail UNIQUE hostname/);
    await fw.stop();
  });

  it('replaces unreachable instances after inactiveAfterSeconds', async () => {
    const { fw, master, clock } = await setup();
    await fw.apply([
      serviceDoc({
        instances: 2,
        unreachableStrategy: { inactiveAfterSeconds: 30, expungeAfterSeconds: 60 },
      }),
    ]);
    await converge(master);
    const lost = fw.get('/shop/web').instances[0]!.id;
    master.update(lost, 'TASK_UNREACHABLE');
    await converge(master);
    assert.equal(master.live('shop_web').length, 2, 'not replaced before inactiveAfterSeconds');
    clock.advance(31_000);
    await settle();
    await converge(master);
    assert.equal(master.live('shop_web').filter((t) => t.state === 'TASK_RUNNING').length, 2);
    clock.advance(30_000);
    await settle();
    assert.equal(fw.get('/shop/web').instances.length, 2, 'the unreachable one was expunged');
    await fw.stop();
  });

  it('restarts in the middle of a deployment and continues it', async () => {
    const store = new MemoryStore();
    const master = new FakeMaster(3);
    const first = await setup(3, store, new FakeClock(1_000_000), master);
    await first.fw.apply([serviceDoc({ instances: 2 })]);
    await converge(master);
    master.onLaunch = () => [];
    const bg = { upgradeStrategy: { type: 'blueGreen' }, readinessCheck: { protocol: 'TCP' } };
    const [dep] = await first.fw.apply([serviceDoc({ instances: 2, ...bg })]);
    await converge(master, 2);
    await first.fw.stop();
    assert.equal(master.live('shop_web').length, 4);
    const second = await setup(3, store, new FakeClock(1_010_000), master);
    assert.equal(second.fw.get('/shop/web').deployment, dep!.id);
    for (const t of master.live('shop_web'))
      if (t.task.check)
        master.update(t.task.task_id.value, 'TASK_RUNNING', {
          check_status: { type: 'TCP', tcp: { succeeded: true } },
        });
    await settle();
    await converge(second.master);
    assert.equal(master.live('shop_web').length, 2);
    assert.equal(second.fw.deployments().find((d) => d.id === dep!.id)?.state, 'succeeded');
    await second.fw.stop();
  });

  it('deletes a service, cancels a deployment by rolling back, and rolls back to the previous version', async () => {
    const { fw, master } = await setup();
    await fw.apply([serviceDoc({ instances: 2 })]);
    await converge(master);
    const [dep] = await fw.apply([
      serviceDoc({ instances: 2, image: 'busybox:2', upgradeStrategy: { type: 'blueGreen' } }),
    ]);
    master.onLaunch = () => [];
    const back = await fw.cancelDeployment(dep!.id);
    assert.equal(back?.kind, 'rollback');
    assert.equal(fw.deployments().find((d) => d.id === dep!.id)?.state, 'cancelled');
    await converge(master);
    assert.equal(fw.get('/shop/web').spec.image, 'busybox');
    const rolled = await fw.rollback('/shop/web');
    assert.equal(rolled.kind, 'rollback');
    assert.equal(fw.get('/shop/web').spec.image, 'busybox:2');
    await converge(master);
    await fw.remove('/shop/web', { force: true });
    await converge(master);
    assert.deepEqual(fw.list(), []);
    assert.equal(master.live('shop_web').length, 0);
    assert.throws(() => fw.get('/shop/web'), /not found/);
    await fw.stop();
  });

  it('plans a dry run: the diff, the steps, and creates nothing', async () => {
    const { fw, master } = await setup();
    await fw.apply([serviceDoc({ instances: 2 })]);
    await converge(master);
    const plan = await fw.plan(serviceDoc({ instances: 4, env: { A: '1' } }));
    assert.deepEqual([...plan.diff].sort(), ['+ env.A: "1"', 'instances: 2 -> 4']);
    assert.deepEqual(plan.steps, ['start 4 new', 'kill 2 old']);
    assert.equal(plan.placements.length, 4);
    assert.equal(fw.get('/shop/web').spec.instances, 2);
    const dry = await fw.apply([serviceDoc({ id: '/other' })], { dryRun: true });
    assert.equal(dry[0]?.kind, 'create');
    assert.throws(() => fw.get('/other'), /not found/);
    await fw.stop();
  });

  it('subscribes again with a new role when a service brings one', async () => {
    const { fw, master } = await setup();
    assert.deepEqual(master.subscriptions, [['*']]);
    await fw.apply([serviceDoc({ role: 'web' })]);
    assert.deepEqual(master.subscriptions, [['*'], ['*', 'web']]);
    await settle();
    await converge(master);
    assert.equal(fw.get('/shop/web').counts.running, 2);
    await fw.stop();
  });

  it('replaces an instance the agent killed for failing its health check, and reports health changes', async () => {
    const { fw, master, events } = await setup();
    master.onLaunch = () => [{ healthy: true }];
    await fw.apply([serviceDoc({ instances: 1, healthChecks: [{ protocol: 'TCP' }] })]);
    await converge(master);
    const [first] = fw.get('/shop/web').instances;
    assert.equal(first?.healthy, true);
    master.update(first!.id, 'TASK_RUNNING', { healthy: false });
    master.update(first!.id, 'TASK_KILLED', {
      healthy: false,
      reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
    });
    await settle();
    assert.ok(
      events.some(
        (e) => e.eventType === 'health_status_changed_event' && !e.healthy && e.taskId === first!.id,
      ),
    );
    assert.match(fw.get('/shop/web').lastFailure ?? '', /killed: failed its health check/);
    assert.match(fw.queue()[0]?.reason ?? '', /^backoff until/);
    await fw.stop();
  });

  it('cancels a deployment with force: it stops, the service keeps its target', async () => {
    const { fw, master } = await setup();
    await fw.apply([serviceDoc({ instances: 1 })]);
    await converge(master);
    const [dep] = await fw.apply([serviceDoc({ instances: 3 })]);
    assert.equal(await fw.cancelDeployment(dep!.id, { force: true }), undefined);
    assert.equal(fw.deployment(dep!.id).state, 'cancelled');
    assert.equal(fw.get('/shop/web').deployment, undefined);
    await assert.rejects(fw.cancelDeployment(dep!.id), /not found/);
    await fw.stop();
  });

  it('resets the backoff once a replacement has stayed ready a while', async () => {
    const { fw, master, clock } = await setup();
    await fw.apply([serviceDoc({ instances: 1, backoff: { seconds: 10, factor: 2, maxSeconds: 100 } })]);
    await converge(master);
    master.update(fw.get('/shop/web').instances[0]!.id, 'TASK_FAILED');
    await settle();
    clock.advance(10_000);
    await settle();
    await converge(master);
    assert.equal(fw.get('/shop/web').counts.running, 1);
    clock.advance(61_000);
    await settle();
    master.update(fw.get('/shop/web').instances[0]!.id, 'TASK_FAILED');
    await settle();
    assert.equal(fw.queue()[0]?.backoffUntil, clock.now() + 10_000, 'back to the first delay');
    await fw.stop();
  });
});
