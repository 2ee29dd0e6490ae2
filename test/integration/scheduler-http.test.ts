/**
 * An outside framework on the scheduler API over HTTP: SUBSCRIBE (RecordIO stream + Mesos-Stream-Id),
 * OFFERS, ACCEPT with LAUNCH on real runc, UPDATEs, ACKNOWLEDGE, and DECLINE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Readable } from 'node:stream';
import { decodeRecords } from '../../src/api/recordio.js';
import type { SchedulerEvent } from '../../src/api/scheduler.js';
import type { Offer, TaskStatus } from '../../src/api/mesos.js';
import { scalar } from '../../src/core/resources.js';
import { canUseRunc, Cluster } from './harness.js';

test('a framework subscribes, launches and acknowledges over HTTP', { skip: canUseRunc() }, async (t) => {
  const cluster = await Cluster.start();
  t.after(() => cluster.destroy());
  await cluster.importBusybox();
  const api = `${cluster.url}/api/v1/scheduler`;
  const sub = await request(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'SUBSCRIBE',
      subscribe: { framework_info: { name: 'outside', roles: ['*'] } },
    }),
  });
  assert.equal(sub.statusCode, 200);
  assert.equal(sub.headers['content-type'], 'application/recordio');
  const streamId = String(sub.headers['mesos-stream-id']);
  assert.match(streamId, /^[0-9a-f-]{36}$/);
  const events = decodeRecords<SchedulerEvent>(sub.body as Readable)[Symbol.asyncIterator]();
  const next = async (type: SchedulerEvent['type']): Promise<SchedulerEvent> => {
    for (;;) {
      const e = await events.next();
      assert.ok(!e.done, `stream ended before ${type}`);
      if (e.value.type === type) return e.value;
    }
  };
  const call = async (body: object) => {
    const res = await request(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
      body: JSON.stringify({ framework_id: { value: frameworkId }, ...body }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  };

  const subscribed = await next('SUBSCRIBED');
  assert.equal(subscribed.type, 'SUBSCRIBED');
  const frameworkId = subscribed.type === 'SUBSCRIBED' ? subscribed.subscribed.framework_id.value : '';
  const offersEvent = await next('OFFERS');
  const offer = (offersEvent as Extract<SchedulerEvent, { type: 'OFFERS' }>).offers.offers[0] as Offer;
  assert.ok(offer.resources.some((r) => r.name === 'cpus' && (r.scalar?.value ?? 0) > 0));

  const taskId = `outside-${Date.now()}`;
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
                name: 'from-outside',
                task_id: { value: taskId },
                agent_id: offer.agent_id,
                resources: [scalar('cpus', 0.1), scalar('mem', 32)],
                command: { value: 'echo outside; exit 5' },
                container: {
                  type: 'MESOS',
                  mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } },
                },
              },
            ],
          },
        },
      ],
      filters: { refuse_seconds: 60 },
    },
  });
  assert.equal(accepted.status, 202, accepted.text);

  const seen: TaskStatus[] = [];
  for (;;) {
    const e = await next('UPDATE');
    const status = (e as Extract<SchedulerEvent, { type: 'UPDATE' }>).update.status;
    assert.equal(status.task_id.value, taskId);
    seen.push(status);
    const ack = await call({
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
    });
    assert.equal(ack.status, 202, ack.text);
    if (status.state === 'TASK_FAILED' || status.state === 'TASK_FINISHED') break;
  }
  assert.deepEqual(
    seen.map((s) => s.state),
    ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED'],
  );
  assert.equal(seen.at(-1)?.exit_code, 5);
  const logs = await cluster.cli(['logs', taskId]);
  assert.equal(logs.stdout, 'outside\n');

  const bad = await request(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
    body: JSON.stringify({ type: 'NOPE' }),
  });
  assert.equal(bad.statusCode, 400);
  assert.match(await bad.body.text(), /ERR_INVALID_CALL/);
  const stranger = await request(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'mesos-stream-id': 'not-a-stream' },
    body: JSON.stringify({ type: 'REVIVE' }),
  });
  assert.equal(stranger.statusCode, 403);
  await stranger.body.dump();
  await events.return?.(undefined);
});
