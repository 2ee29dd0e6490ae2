/**
 * Hostile and broken calls on the scheduler and agent APIs: each gets a 4xx with a clear message, and
 * the master keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { decodeRecords } from '../../src/api/recordio.js';
import type { SchedulerEvent } from '../../src/api/scheduler.js';
import { Cluster } from './harness.js';

async function eventuallyFind<T>(list: T[], pred: (t: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = list.find(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('event not seen within 5 s');
}

test('bad calls get 4xx with a clear message and the master keeps running', async (t) => {
  const cluster = await Cluster.start(['--runtime', 'process']);
  t.after(() => cluster.destroy());
  const api = `${cluster.url}/api/v1/scheduler`;
  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await request(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.statusCode, body: await res.body.text() };
  };

  const malformed = await post('{"type": "SUBSCRIBE", ');
  assert.equal(malformed.status, 400);
  assert.match(malformed.body, /"code":"ERR_INVALID_REQUEST"/);

  const unknown = await post(JSON.stringify({ type: 'LAUNCH_ROCKETS' }));
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /ERR_INVALID_CALL.*bad scheduler call: \/type/);

  // A 5 MiB body: refused from its Content-Length alone, before any of it is read.
  const huge = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      api,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 5 * 1024 * 1024 } },
      (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(huge, 413);

  const noStream = await post(JSON.stringify({ type: 'REVIVE' }));
  assert.equal(noStream.status, 400);
  assert.match(noStream.body, /Mesos-Stream-Id header is required/);

  const wrongStream = await post(JSON.stringify({ type: 'REVIVE' }), { 'mesos-stream-id': 'forged' });
  assert.equal(wrongStream.status, 403);
  assert.match(wrongStream.body, /ERR_FRAMEWORK_NOT_SUBSCRIBED/);

  // A real subscription, then an ACCEPT with an offer id that was never made.
  const sub = await request(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { name: 'prober' } } }),
  });
  const streamId = String(sub.headers['mesos-stream-id']);
  // Read the event stream the whole time, as a framework does.
  const seen: SchedulerEvent[] = [];
  const reading = (async () => {
    for await (const e of decodeRecords<SchedulerEvent>(sub.body as Readable)) seen.push(e);
  })().catch(() => undefined);
  const subscribed = await eventuallyFind(seen, (e) => e.type === 'SUBSCRIBED');
  const frameworkId = subscribed.type === 'SUBSCRIBED' ? subscribed.subscribed.framework_id.value : '';
  const forged = await post(
    JSON.stringify({
      type: 'ACCEPT',
      framework_id: { value: frameworkId },
      accept: { offer_ids: [{ value: 'never-made' }], operations: [] },
    }),
    { 'mesos-stream-id': streamId },
  );
  assert.equal(forged.status, 400);
  assert.equal(JSON.parse(forged.body).message, 'offer "never-made" was never made to this framework');

  const otherFramework = await post(
    JSON.stringify({ type: 'REVIVE', framework_id: { value: 'someone-else' } }),
    { 'mesos-stream-id': streamId },
  );
  assert.equal(otherFramework.status, 403);

  const message = await post(
    JSON.stringify({
      type: 'MESSAGE',
      framework_id: { value: frameworkId },
      message: { agent_id: { value: 'a' }, executor_id: { value: 'e' }, data: '' },
    }),
    { 'mesos-stream-id': streamId },
  );
  assert.equal(message.status, 400);
  assert.match(message.body, /berth runs none/);

  const badAgent = await request(`${cluster.url}/api/v1/agent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '[]',
  });
  assert.equal(badAgent.statusCode, 400);
  await badAgent.body.dump();

  sub.body.destroy();
  await reading;
  const health = await request(`${cluster.url}/api/v1/health`);
  assert.equal(health.statusCode, 200, 'the master is still serving');
  await health.body.dump();
  const ps = await cluster.cli(['ps']);
  assert.equal(ps.code, 0, ps.stderr);
});
