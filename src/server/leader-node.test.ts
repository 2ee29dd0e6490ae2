import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { httpStatusFor } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { ETCD_BINARY, EtcdTestServer } from '../store/etcd/etcd-test-server.js';
import { NoLeaderError, startHaMasterNode, type HaMasterNode } from './leader-node.js';

const skip = EtcdTestServer.available()
  ? undefined
  : `${ETCD_BINARY} is missing (apt-get install -y etcd-server): the HA master node is not tested`;
if (skip) console.log(`# SKIP leader-node: ${skip}`);

async function until<T>(what: string, check: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a standby with no leader to send a call to answers 503, which clients take as "try another master"', () => {
  assert.equal(httpStatusFor(new NoLeaderError('no leader').code), 503);
});

describe('HA master nodes in one process', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-leader-node-'));
  let etcd: EtcdTestServer | undefined;
  const nodes: HaMasterNode[] = [];
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await etcd?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one leads, the other redirects to it; a stopped leader hands over at once', async () => {
    etcd = await EtcdTestServer.start();
    const storeUrl = `etcd://127.0.0.1:${etcd.clientPort}/leader-node-${process.pid}/`;
    const start = (name: string) =>
      startHaMasterNode({
        storeUrl,
        dataDir: join(dir, name),
        port: 0,
        listen: '127.0.0.1',
        logger: silentLogger,
        allocationIntervalMs: 200,
      });
    const a = await start('a');
    nodes.push(a);
    await until('a to lead', () => a.master);
    const b = await start('b');
    nodes.push(b);
    await until('b to know the leader', () => b.election.leader);
    assert.equal(b.master, undefined);

    const view = (await (await fetch(`${b.url}/api/v1/leader`)).json()) as {
      leader: { url: string };
      is_leader: boolean;
    };
    assert.deepEqual([view.leader.url, view.is_leader], [a.advertise, false]);
    const health = await (await fetch(`${b.url}/api/v1/health`)).json();
    assert.deepEqual(health, { ok: true, role: 'standby' });
    const redirected = await fetch(`${b.url}/api/v1/agents?x=1`, { redirect: 'manual' });
    assert.equal(redirected.status, 307);
    assert.equal(redirected.headers.get('location'), `${a.advertise}/api/v1/agents?x=1`);
    const body = await fetch(`${b.url}/v1/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['true'] }),
    });
    assert.equal(body.status, 201, 'a POST with a body follows the 307 to the leader');
    const leaderView = (await (await fetch(`${a.url}/api/v1/leader`)).json()) as { is_leader: boolean };
    assert.equal(leaderView.is_leader, true);

    const stopped = Date.now();
    await a.stop();
    nodes.shift();
    await until('b to lead', () => b.master, 5000);
    assert.ok(Date.now() - stopped < 2500, `handover took ${Date.now() - stopped} ms, not a lease TTL`);
    const runs = (await (await fetch(`${b.url}/v1/run`)).json()) as { tasks: unknown[] };
    assert.equal(runs.tasks.length, 1, 'the new leader has the task submitted to the old one');
  });
});
