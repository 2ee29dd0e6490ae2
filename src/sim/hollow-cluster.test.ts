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

test('agents re-subscribe to a restarted master by task status only, and in full to one that forgot', async () => {
  const the = { master: undefined as Master | undefined };
  const subscribes: Array<{ full: number; compact: number }> = [];
  const store = new MemoryStore();
  const startMaster = async (on: MemoryStore): Promise<Master> => {
    const master = new Master({ store: on, allocationIntervalMs: 50 });
    await master.recover();
    master.start();
    return master;
  };
  the.master = await startMaster(store);
  // Every agent's link goes to the master of the moment; it counts the task reports of each SUBSCRIBE.
  const link = () => {
    const links = new Map<Master, ReturnType<typeof localAgentLink>>();
    const current = () => {
      const master = the.master!;
      if (!links.has(master)) links.set(master, localAgentLink(master));
      return links.get(master)!;
    };
    return {
      subscribe: (...args: Parameters<ReturnType<typeof localAgentLink>['subscribe']>) => {
        const s = args[0].subscribe;
        subscribes.push({ full: s.tasks.length, compact: s.known_tasks?.length ?? 0 });
        return current().subscribe(...args);
      },
      call: (streamId: string, call: Parameters<ReturnType<typeof localAgentLink>['call']>[1]) =>
        current().call(streamId, call),
      close: () => current().close(),
    };
  };
  const cluster = new HollowCluster({
    agents: 2,
    link,
    resources: parseResources('cpus:4;mem:4096'),
    duration: parseTaskDuration('forever'),
    heartbeatSeconds: 1,
  });
  const keepAlive = setInterval(() => undefined, 1000);
  const active = (m: Master) => m.listAgents().filter((a) => a.state === 'ACTIVE').length;
  const running = (m: Master) => m.listTasks({ all: false }).filter((t) => t.state === 'TASK_RUNNING').length;
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(what());
  };
  try {
    await cluster.start();
    const load = new LoadFramework({
      transport: localSchedulerTransport(the.master),
      name: 'load',
      tasks: 6,
      taskResources: parseResources('cpus:1;mem:128'),
    });
    await load.start();
    await load.until((s) => s.running === 6);
    load.stop();
    // The master restarts on its store: the agents report their tasks by status only.
    subscribes.length = 0;
    await the.master.stop();
    the.master = await startMaster(store);
    await until(() => active(the.master!) === 2 && running(the.master!) === 6);
    assert.deepEqual(
      subscribes.map((s) => s.full),
      [0, 0],
    );
    assert.equal(
      subscribes.reduce((n, s) => n + s.compact, 0),
      6,
    );
    // A master on an empty store does not know the tasks: it refuses the compact reports, and the agents
    // subscribe again in full; it then knows exactly the six tasks.
    subscribes.length = 0;
    await the.master.stop();
    const empty = new MemoryStore();
    the.master = await startMaster(empty);
    await until(() => active(the.master!) === 2 && running(the.master!) === 6);
    assert.equal(
      subscribes.reduce((n, s) => n + s.full, 0),
      6,
    );
    assert.equal(the.master.listTasks({ all: true }).length, 6);
    await empty.close();
  } finally {
    clearInterval(keepAlive);
    await cluster.stop();
    await the.master?.stop();
    await store.close();
  }
});
