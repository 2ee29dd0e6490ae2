/**
 * The services framework on a real master (in-process transport) with hollow agents (real agent protocol,
 * tasks that only pretend to run): offers, roles, ports, kills and status updates end to end, without runc.
 * `BERTH_SERVICES_SCALE=10000x1000` (instances x agents) turns it into the scale measurement.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResources } from '../../core/resources.js';
import { localAgentLink, localSchedulerTransport, Master } from '../../master/index.js';
import { HollowCluster } from '../../sim/hollow-cluster.js';
import { parseTaskDuration } from '../../sim/duration.js';
import { MemoryStore } from '../../store/memory/memory-store.js';
import { ServicesFramework } from './services-framework.js';
import { serviceDoc } from './test-support.js';

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const [instances, agents] = (process.env.BERTH_SERVICES_SCALE ?? '200x20').split('x').map(Number) as [
  number,
  number,
];

test(`services on hollow agents: ${instances} instances on ${agents} agents, rolling upgrade, scale down`, async () => {
  const store = new MemoryStore();
  const master = new Master({ store, allocationIntervalMs: 50 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:64;mem:65536;ports:[31000-32999]'),
    duration: parseTaskDuration('forever'),
    heartbeatSeconds: 5,
  });
  const keepAlive = setInterval(() => undefined, 1000);
  const fw = new ServicesFramework({
    store: new MemoryStore(),
    transport: () => localSchedulerTransport(master),
    master,
  });
  try {
    await cluster.start();
    await fw.start();
    const started = Date.now();
    const [dep] = await fw.apply([
      serviceDoc({
        instances,
        resources: { cpus: 0.01, mem: 8, ports: 1 },
        upgradeStrategy: { minimumHealthCapacity: 0.5 },
      }),
    ]);
    await until('all running', () => fw.get('/shop/web').counts.running === instances, 120_000);
    const ms = Date.now() - started;
    await until('deployment done', () => fw.get('/shop/web').deployment === undefined);
    console.log(`# ${instances} instances RUNNING on ${agents} hollow agents in ${ms} ms`);
    assert.equal(fw.deployment(dep!.id).state, 'succeeded');
    const ports = fw.get('/shop/web').instances.map((i) => `${i.host}:${i.ports[0]}`);
    assert.equal(new Set(ports).size, instances, 'every instance has its own host port');

    const upgraded = Date.now();
    await fw.apply([
      serviceDoc({
        instances,
        env: { V: '2' },
        resources: { cpus: 0.01, mem: 8, ports: 1 },
        upgradeStrategy: { minimumHealthCapacity: 0.5 },
      }),
    ]);
    await until('upgrade done', () => fw.get('/shop/web').deployment === undefined, 120_000);
    console.log(`# rolling upgrade of ${instances} instances in ${Date.now() - upgraded} ms`);
    const view = fw.get('/shop/web');
    assert.equal(view.instances.length, instances);
    assert.ok(view.instances.every((i) => i.version === view.version));
    await fw.scale('/shop/web', Math.floor(instances / 2));
    await until('scaled down', () => cluster.containerizer.running === Math.floor(instances / 2), 60_000);
    assert.equal(fw.get('/shop/web').instances.length, Math.floor(instances / 2));
  } finally {
    clearInterval(keepAlive);
    await fw.stop();
    await cluster.stop();
    await master.stop();
    await store.close();
  }
});

const [services, perService] = (process.env.BERTH_SERVICES_MANY ?? '20x5').split('x').map(Number) as [
  number,
  number,
];

test(`services on hollow agents: ${services} services of ${perService} instances`, async () => {
  const store = new MemoryStore();
  const master = new Master({ store, allocationIntervalMs: 50 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:64;mem:65536;ports:[31000-32999]'),
    duration: parseTaskDuration('forever'),
    heartbeatSeconds: 5,
  });
  const keepAlive = setInterval(() => undefined, 1000);
  const fw = new ServicesFramework({
    store: new MemoryStore(),
    transport: () => localSchedulerTransport(master),
    master,
  });
  try {
    await cluster.start();
    await fw.start();
    const started = Date.now();
    const docs = Array.from({ length: services }, (_, i) =>
      serviceDoc({ id: `/many/s${i}`, instances: perService, resources: { cpus: 0.01, mem: 8, ports: 1 } }),
    );
    const deps = await fw.apply(docs);
    assert.equal(deps.length, services);
    const total = services * perService;
    await until('all running', () => cluster.containerizer.running === total, 120_000);
    console.log(
      `# ${services} services x ${perService} instances RUNNING on ${agents} hollow agents in ${Date.now() - started} ms`,
    );
    await until('deployments done', () => fw.list().every((s) => s.deployment === undefined));
    assert.equal(
      fw.list().reduce((n, s) => n + s.counts.running, 0),
      total,
    );
  } finally {
    clearInterval(keepAlive);
    await fw.stop();
    await cluster.stop();
    await master.stop();
    await store.close();
  }
});
