/**
 * `berth up --store etcd://…`: the single-node cluster keeps its state in etcd instead of SQLite, and a
 * restarted `berth up` finds its tasks there. Without `--store` nothing of it goes to etcd.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TaskView } from '../../src/api/operator.js';
import { EtcdStore } from '../../src/store/etcd/etcd-store.js';
import { ETCD_BINARY, EtcdTestServer } from '../../src/store/etcd/etcd-test-server.js';
import { Cluster, eventually } from './harness.js';

const skip = EtcdTestServer.available()
  ? undefined
  : `${ETCD_BINARY} is missing (apt-get install -y etcd-server): berth up on etcd is not tested`;
if (skip) console.log(`# SKIP ha-up-etcd: ${skip}`);

describe('berth up --store etcd://', { skip }, () => {
  let etcd: EtcdTestServer;
  let cluster: Cluster;
  const namespace = `/berth-up-${process.pid}/`;
  before(async () => {
    etcd = await EtcdTestServer.start();
    const url = `etcd://127.0.0.1:${etcd.clientPort}${namespace}`;
    cluster = await Cluster.start(['--store', url, '--runtime', 'process']);
  });
  after(async () => {
    await cluster?.destroy();
    await etcd?.dispose();
  });

  test('state lives in etcd and survives a restart of berth up', async () => {
    const res = await fetch(`${cluster.url}/v1/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['sh', '-c', 'echo hi'], cpus: 0.1, mem: 16 }),
    });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: string };
    const tasksOf = async () =>
      ((await (await fetch(`${cluster.url}/api/v1/tasks?all=true`)).json()) as { tasks: TaskView[] }).tasks;
    await eventually(
      async () => ((await tasksOf()).find((t) => t.id === id)?.state === 'TASK_FINISHED' ? true : undefined),
      30_000,
      'the task to finish',
    );
    assert.equal(existsSync(join(cluster.home, 'state.db')), false, 'no SQLite state');
    const store = await EtcdStore.open({ hosts: [etcd.clientUrl], namespace });
    try {
      assert.ok(await store.get(`master/tasks/${id}`), 'the task record is in etcd');
    } finally {
      await store.close();
    }
    assert.equal(await cluster.down(), 0);
    rmSync(join(cluster.home, 'agent'), { recursive: true, force: true });
    await cluster.up();
    const again = await tasksOf();
    assert.equal(again.find((t) => t.id === id)?.state, 'TASK_FINISHED');
  });
});
