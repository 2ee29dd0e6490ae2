/**
 * Services at scale (issue 5): time from `apply` until every instance is RUNNING, on hollow agents (the
 * real agent protocol, tasks that only pretend to run) and a real in-process master, for one service of
 * 10,000 instances on 1,000 agents and for 1,000 services of 10 instances. Goal: 10,000 instances RUNNING
 * in under 10 s. For reference: an OpenStack test took 14 s for a 500-instance Marathon app on 189 agents.
 *
 *   npm run build && node dist/bench/services-scale.js [--smoke]
 */
import { parseResources } from '../src/core/resources.js';
import { ServicesFramework } from '../src/frameworks/services/index.js';
import { localAgentLink, localSchedulerTransport, Master } from '../src/master/index.js';
import { HollowCluster, parseTaskDuration } from '../src/sim/index.js';
import { MemoryStore } from '../src/store/index.js';
import { elapsedMs, keepAlive, printTable, sizeFromArgs, writeResult } from './lib.js';

const size = sizeFromArgs();
const scale =
  size === 'smoke'
    ? { one: [200, 20], many: [20, 10], agents: 20 }
    : { one: [10_000, 1_000], many: [1_000, 10], agents: 1_000 };

function doc(id: string, instances: number): Record<string, unknown> {
  return {
    kind: 'Service',
    id,
    image: 'busybox',
    args: ['httpd', '-f'],
    instances,
    resources: { cpus: 0.01, mem: 8, ports: 1 },
  };
}

/** Starts a master, `agents` hollow agents and the services framework; applies `docs`; times all RUNNING. */
async function measure(agents: number, docs: Array<Record<string, unknown>>): Promise<number> {
  const master = new Master({ store: new MemoryStore(), allocationIntervalMs: 50 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:64;mem:65536;ports:[31000-32999]'),
    duration: parseTaskDuration('forever'),
    heartbeatSeconds: 5,
  });
  const framework = new ServicesFramework({
    store: new MemoryStore(),
    transport: () => localSchedulerTransport(master),
    master,
  });
  try {
    await cluster.start();
    await framework.start();
    const wanted = docs.reduce((n, d) => n + (d.instances as number), 0);
    const started = process.hrtime.bigint();
    await framework.apply(docs);
    const running = (): number => framework.list().reduce((n, s) => n + s.counts.running, 0);
    while (running() < wanted) {
      if (elapsedMs(started) > 300_000) throw new Error(`only ${running()} of ${wanted} RUNNING after 300 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return elapsedMs(started);
  } finally {
    await framework.stop();
    await cluster.stop();
    await master.stop();
  }
}

const release = keepAlive();
try {
  const [oneInstances, oneAgents] = scale.one as [number, number];
  const [services, each] = scale.many as [number, number];
  const oneMs = await measure(oneAgents, [doc('/scale/one', oneInstances)]);
  const manyMs = await measure(
    scale.agents,
    Array.from({ length: services }, (_, i) => doc(`/scale/s${i}`, each)),
  );
  printTable(
    ['case', 'instances', 'agents', 'apply → all RUNNING', 'instances/s'],
    [
      [
        'one service',
        oneInstances,
        oneAgents,
        `${(oneMs / 1000).toFixed(2)} s`,
        Math.round(oneInstances / (oneMs / 1000)),
      ],
      [
        `${services} services × ${each}`,
        services * each,
        scale.agents,
        `${(manyMs / 1000).toFixed(2)} s`,
        Math.round((services * each) / (manyMs / 1000)),
      ],
    ],
  );
  writeResult('services-scale', { size, oneInstances, oneAgents, oneMs, services, each, manyMs });
} finally {
  release();
}
