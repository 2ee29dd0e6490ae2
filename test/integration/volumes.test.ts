/**
 * Reservations and persistent volumes end to end on real runc: reserve and create a volume with the CLI
 * (operator API), a framework of role "db" writes into the volume and a second task reads it back, a
 * DESTROY while a task uses the volume is refused, the reservation and volume survive `kill -9` and a
 * restart, and DESTROY removes the directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'undici';
import type { Readable } from 'node:stream';
import { decodeRecords } from '../../src/api/recordio.js';
import type { SchedulerEvent } from '../../src/api/scheduler.js';
import type { Offer, TaskStatus } from '../../src/api/mesos.js';
import type { AgentView } from '../../src/api/operator.js';
import type { Resource } from '../../src/core/resources.js';
import { canUseRunc, Cluster, eventually, getJson, type BerthProcess } from './harness.js';

const findVolumeDir = (home: string): string =>
  spawnSync('find', [home, '-path', '*/volumes/roles/db/vol1', '-type', 'd'], {
    encoding: 'utf8',
  }).stdout.trim();

async function openFramework(url: string) {
  const api = `${url}/api/v1/scheduler`;
  const sub = await request(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { name: 'db', roles: ['db'] } } }),
  });
  assert.equal(sub.statusCode, 200);
  const streamId = String(sub.headers['mesos-stream-id']);
  const events = decodeRecords<SchedulerEvent>(sub.body as Readable)[Symbol.asyncIterator]();
  let frameworkId = '';
  const next = async <T extends SchedulerEvent['type']>(type: T) => {
    for (;;) {
      const e = await events.next();
      assert.ok(!e.done, `stream ended before ${type}`);
      if (e.value.type === type) return e.value as Extract<SchedulerEvent, { type: T }>;
    }
  };
  const call = async (body: object) => {
    const res = await request(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
      body: JSON.stringify({ framework_id: { value: frameworkId }, ...body }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  frameworkId = (await next('SUBSCRIBED')).subscribed.framework_id.value;
  /** Launches `command` on the next offer with the volume; resolves on the first status in `until`. */
  const launch = async (taskId: string, command: string, until: string[]): Promise<TaskStatus> => {
    let offer: Offer | undefined;
    while (!offer) {
      const offers = (await next('OFFERS')).offers.offers;
      offer = offers.find((o) => o.resources.some((r) => (r as Resource).disk?.persistence?.id === 'vol1'));
      for (const o of offers)
        if (o !== offer)
          await call({ type: 'DECLINE', decline: { offer_ids: [o.id], filters: { refuse_seconds: 0 } } });
    }
    const res = offer.resources as Resource[];
    const reserved = (name: string, value: number): Resource => {
      const r = res.find((x) => x.name === name && x.reservations?.[0]?.role === 'db');
      assert.ok(r, `offer has reserved ${name}`);
      return { ...r, scalar: { value } };
    };
    const volume = res.find((r) => r.disk?.persistence?.id === 'vol1')!;
    const accepted = await call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: taskId,
                  task_id: { value: taskId },
                  agent_id: offer.agent_id,
                  resources: [reserved('cpus', 0.1), reserved('mem', 32), volume],
                  command: { value: command },
                  container: {
                    type: 'MESOS',
                    mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } },
                  },
                },
              ],
            },
          },
        ],
        filters: { refuse_seconds: 0 },
      },
    });
    assert.equal(accepted.status, 202, accepted.text);
    for (;;) {
      const status = (await next('UPDATE')).update.status;
      if (status.uuid)
        await call({
          type: 'ACKNOWLEDGE',
          acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
        });
      if (status.task_id.value === taskId && until.includes(status.state)) return status;
    }
  };
  /** Kills a task and waits until it has ended. */
  const kill = async (taskId: string, agentId: string): Promise<string> => {
    const killed = await call({
      type: 'KILL',
      kill: { task_id: { value: taskId }, agent_id: { value: agentId } },
    });
    assert.equal(killed.status, 202, killed.text);
    for (;;) {
      const status = (await next('UPDATE')).update.status;
      if (status.uuid)
        await call({
          type: 'ACKNOWLEDGE',
          acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
        });
      if (
        status.task_id.value === taskId &&
        ['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED'].includes(status.state)
      )
        return status.state;
    }
  };
  return { launch, kill, close: () => events.return?.(undefined) };
}

test(
  'reservations and persistent volumes end to end',
  { skip: canUseRunc(), timeout: 120_000 },
  async (t) => {
    const cluster = await Cluster.start();
    t.after(() => cluster.destroy());
    await cluster.importBusybox();
    const agents = async () =>
      (await getJson<{ agents: AgentView[] }>(`${cluster.url}/api/v1/agents`)).agents;
    const agentId = (await agents())[0]!.id;

    const reserved = await cluster.cli(['reserve', agentId, 'cpus(db):0.5;mem(db):128;disk(db):64']);
    assert.equal(reserved.code, 0, reserved.stderr);
    const bad = await cluster.cli([
      'volume',
      'create',
      agentId,
      '--role',
      'db',
      '--id',
      '../x',
      '--size',
      '64',
      '--path',
      'data',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /disk\.persistence\.id/);
    const created = await cluster.cli([
      'volume',
      'create',
      agentId,
      '--role',
      'db',
      '--id',
      'vol1',
      '--size',
      '64',
      '--path',
      'data',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const dir = await eventually(
      async () => findVolumeDir(cluster.home) || undefined,
      10_000,
      'the volume dir',
    );
    const ls = await cluster.cli(['volume', 'ls']);
    assert.match(ls.stdout, /db\s+vol1\s+64 MB\s+data\s+RW/);

    const fw = await openFramework(cluster.url);
    const wrote = await fw.launch('writer', 'echo persisted > /data/f', ['TASK_FINISHED', 'TASK_FAILED']);
    assert.equal(wrote.state, 'TASK_FINISHED', wrote.message);
    const read = await fw.launch('reader', 'test "$(cat /data/f)" = persisted', [
      'TASK_FINISHED',
      'TASK_FAILED',
    ]);
    assert.equal(read.state, 'TASK_FINISHED', 'the second task reads what the first wrote');

    const running = await fw.launch('sleeper', 'sleep 60', ['TASK_RUNNING', 'TASK_FAILED']);
    assert.equal(running.state, 'TASK_RUNNING');
    const refused = await cluster.cli(['volume', 'destroy', agentId, 'vol1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /in use by task sleeper/);
    assert.ok(findVolumeDir(cluster.home), 'the refused DESTROY left the volume');
    assert.equal(await fw.kill('sleeper', agentId), 'TASK_KILLED');
    await fw.close();

    // kill -9 (master and agent: `berth up` holds both), then restart: the total still carries them.
    await (cluster as unknown as { process: BerthProcess }).process.stop('SIGKILL');
    await cluster.up();
    const total = await eventually(
      async () => {
        const a = (await agents()).find((x) => x.id === agentId);
        return a?.resources.some((r) => r.disk?.persistence?.id === 'vol1') ? a.resources : undefined;
      },
      30_000,
      'the agent back with its volume',
    );
    assert.ok(total.some((r) => r.name === 'cpus' && r.reservations?.[0]?.role === 'db'));

    const destroyed = await eventually(
      async () => {
        const r = await cluster.cli(['volume', 'destroy', agentId, 'vol1']);
        return r.code === 0 ? r : undefined;
      },
      20_000,
      'DESTROY after the sleeper ended',
    );
    assert.equal(destroyed.code, 0);
    await eventually(
      async () => (findVolumeDir(cluster.home) === '' ? true : undefined),
      10_000,
      'the dir removed',
    );
    assert.equal(findVolumeDir(cluster.home), '', `${dir} is gone`);
  },
);
