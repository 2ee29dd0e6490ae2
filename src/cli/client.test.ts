import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { ApiClient } from './client.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve(`http://127.0.0.1:${address.port}`);
    }),
  );
}

test('a standby 307 is followed to the leader with the same method and body', async (t) => {
  const seen: string[] = [];
  const leader = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  const leaderUrl = await listen(leader);
  const standby = createServer((req, res) => {
    req.resume();
    res.statusCode = 307;
    res.setHeader('location', `${leaderUrl}${req.url}`);
    res.end();
  });
  const standbyUrl = await listen(standby);
  t.after(() => {
    leader.close();
    standby.close();
  });

  const client = new ApiClient(standbyUrl);
  assert.deepEqual(await client.get('/api/v1/tasks'), { ok: true, path: '/api/v1/tasks' });
  assert.deepEqual(await client.post('/v1/run', { image: 'busybox' }), { ok: true, path: '/v1/run' });
  assert.deepEqual(seen, ['GET /api/v1/tasks ', 'POST /v1/run {"image":"busybox"}']);
  // A streamed body cannot be sent twice: the 307 comes back as an error, not a silent empty upload.
  await assert.rejects(client.upload('/v1/images', Readable.from(['x']), 'application/x-tar'), /307/);
});
