import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResources } from '../core/resources.js';
import { localAgentLink, localSchedulerTransport, Master } from '../master/index.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import { parseTaskDuration } from './duration.js';
import { HollowCluster } from './hollow-cluster.js';
import { computeTasksThatFit, LoadFramework } from './load-framework.js';

async function withCluster(
  agents: number,
  duration: string,
  body: (master: Master, cluster: HollowCluster) => Promise<void>,
): Promise<void> {
  const store = new MemoryStore();
  const master = new Master({ store, allocationIntervalMs: 50 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:4;mem:4096'),
    duration: parseTaskDuration(duration),
    heartbeatSeconds: 1,
  });
  // The master's and agents' timers are unref'd: keep the loop alive while the test waits on them.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await cluster.start();
    await body(master, cluster);
  } finally {
    clearInterval(keepAlive);
    await cluster.stop();
    await master.stop();
    await store.close();
  }
}

test('tasks packed per offer: by every scalar the task asks for', () => {
  const offered = parseResources('cpus:4;mem:1000;ports:[1-10]');
  assert.equal(computeTasksThatFit(offered, parseResources('cpus:1;mem:100'), 100), 4);
  assert.equal(computeTasksThatFit(offered, parseResources('cpus:0.5;mem:400'), 100), 2);
  assert.equal(computeTasksThatFit(offered, parseResources('cpus:1'), 3), 3);
  assert.equal(computeTasksThatFit(offered, parseResources('cpus:8'), 3), 0);
});

test('hollow agents register, run tasks for their duration and report them finished', async () => {
  await withCluster(20, '30ms', async (master, cluster) => {
    assert.equal(cluster.agentIds().length, 20);
    assert.equal(master.listAgents().filter((a) => a.state === 'ACTIVE').length, 20);
    const load = new LoadFramework({
      transport: localSchedulerTransport(master),
      name: 'load',
      tasks: 200,
      taskResources: parseResources('cpus:0.5;mem:256'),
    });
    await load.start();
    await load.until((s) => s.finished === 200);
    assert.equal(load.stats.everRunning, 200);
    assert.equal(load.stats.failed, 0);
    assert.equal(cluster.containerizer.launched, 200);
    assert.equal(cluster.containerizer.running, 0);
    load.stop();
  });
});

test('forever tasks run until killed, and end KILLED', async () => {
  await withCluster(4, 'forever', async (master, cluster) => {
    const killed: string[] = [];
    const load = new LoadFramework({
      transport: localSchedulerTransport(master),
      name: 'long',
      tasks: 8,
      taskResources: parseResources('cpus:1;mem:128'),
      onState: (s) => void (s.state === 'TASK_KILLED' && killed.push(s.task_id.value)),
    });
    await load.start();
    await load.until((s) => s.running === 8);
    assert.equal(cluster.containerizer.running, 8);
    await load.client.kill('long-3');
    await load.until(() => killed.length === 1);
    assert.deepEqual(killed, ['long-3']);
    assert.equal(load.stats.running, 7);
    load.stop();
  });
});
