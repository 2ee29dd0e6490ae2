import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, describe, test } from 'node:test';
import { encodeRecord } from '../api/recordio.js';
import { StreamClient } from './stream-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: Handler): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.headers['x-stream'] ?? 'subscribe'}`);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}`, hits, server };
}

/** A port nothing listens on. */
async function deadUrl(): Promise<string> {
  const { url, server } = await serve(() => undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

const redirectTo =
  (target: () => string): Handler =>
  (req, res) => {
    res.writeHead(307, { location: `${target()}${req.url}` }).end();
  };

/** A leader: SUBSCRIBE opens a stream with one event; calls are accepted. */
const leaderHandler: Handler = (req, res) => {
  if (req.headers['x-stream']) return void res.writeHead(202).end();
  res.writeHead(200, { 'content-type': 'application/recordio', 'x-stream': 's1' });
  res.write(encodeRecord({ type: 'SUBSCRIBED' }));
};

function client(masters: string[]): StreamClient {
  return new StreamClient({ masters, path: '/api/v1/x', streamHeader: 'x-stream', failoverWaitMs: 3000 });
}

describe('StreamClient with several masters', () => {
  test('skips a dead master, follows a standby to the leader, and then goes to the leader directly', async () => {
    const leader = await serve(leaderHandler);
    const standby = await serve(redirectTo(() => leader.url));
    const c = client([await deadUrl(), standby.url]);
    try {
      const events: unknown[] = [];
      const { streamId } = await c.subscribe(
        { type: 'SUBSCRIBE' },
        { onEvent: (e) => events.push(e), onClose: () => undefined },
      );
      assert.equal(streamId, 's1');
      assert.equal(c.master, leader.url);
      await c.call(streamId, { type: 'HEARTBEAT' });
      assert.deepEqual(standby.hits, ['POST subscribe']);
      assert.deepEqual(leader.hits, ['POST subscribe', 'POST s1']);
      assert.deepEqual(events, [{ type: 'SUBSCRIBED' }]);
    } finally {
      c.close();
    }
  });

  test('a standby that knows no leader (503) is skipped; the call goes round until one answers', async () => {
    let elected = false;
    const leader = await serve((req, res) =>
      elected ? leaderHandler(req, res) : void res.writeHead(503).end('{"code":"ERR_LEADER_UNAVAILABLE"}'),
    );
    const c = client([leader.url]);
    const two = client([leader.url, await deadUrl()]);
    try {
      await assert.rejects(c.call('s1', {}), /ERR_LEADER_UNAVAILABLE|503/);
      setTimeout(() => (elected = true), 300);
      await two.call('s1', {});
      assert.ok(leader.hits.length >= 3, leader.hits.join());
    } finally {
      c.close();
      two.close();
    }
  });

  test('a call answered by another master drops the stream left on the old one', async () => {
    const next = await serve(leaderHandler);
    let deposed = false;
    const old = await serve((req, res) =>
      deposed ? redirectTo(() => next.url)(req, res) : leaderHandler(req, res),
    );
    const c = client([old.url, next.url]);
    try {
      let closed: string | undefined;
      await c.subscribe({}, { onEvent: () => undefined, onClose: (reason) => (closed = reason ?? 'closed') });
      await c.call('s1', {});
      assert.equal(closed, undefined);
      deposed = true; // the old leader is a standby now: it redirects, but its stream stays open
      await c.call('s1', {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(closed !== undefined, 'the stream on the old leader was dropped');
      assert.equal(c.master, next.url);
    } finally {
      c.close();
    }
  });
});
