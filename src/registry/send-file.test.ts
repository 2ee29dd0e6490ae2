import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { request } from 'undici';
import { sendFileBody } from './send-file.js';

test('whole files, ranges and clients that go away mid-body', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-send-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(5 * 1024 * 1024 + 123); // several pooled buffers and a short last one
  const path = join(dir, 'blob');
  writeFileSync(path, data);
  const handles: FileHandle[] = [];
  const app = Fastify();
  app.get('/whole', async (_req, reply) => {
    const file = await open(path);
    handles.push(file);
    void reply.header('content-length', data.length).header('x-kept', 'yes');
    await sendFileBody(reply, file, data.length);
    return reply;
  });
  app.get('/range', async (_req, reply) => {
    const file = await open(path);
    void reply.status(206).header('content-length', 1000);
    await sendFileBody(reply, file, data.length, { start: 1024 * 1024 - 10, end: 1024 * 1024 + 989 });
    return reply;
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());

  const whole = await request(`${url}/whole`);
  assert.equal(whole.statusCode, 200);
  assert.equal(whole.headers['x-kept'], 'yes');
  assert.ok(Buffer.from(await whole.body.arrayBuffer()).equals(data));

  const range = await request(`${url}/range`);
  assert.equal(range.statusCode, 206);
  const part = Buffer.from(await range.body.arrayBuffer());
  assert.ok(part.equals(data.subarray(1024 * 1024 - 10, 1024 * 1024 + 990)));

  // A client that reads a little and hangs up: the server stops, closes the file and serves the next one.
  const controller = new AbortController();
  const partial = await request(`${url}/whole`, { signal: controller.signal });
  const reader = partial.body[Symbol.asyncIterator]();
  await reader.next();
  controller.abort();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const closed = await handles
    .at(-1)!
    .stat()
    .then(
      () => false,
      () => true,
    );
  assert.ok(closed, 'the file of an abandoned response is closed');
  const again = await request(`${url}/whole`);
  assert.ok(Buffer.from(await again.body.arrayBuffer()).equals(data));
});
