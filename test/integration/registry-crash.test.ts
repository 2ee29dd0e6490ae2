/**
 * A crash in the middle of a push leaves no corrupt state: `berth registry` is killed with SIGKILL while
 * a large blob streams in. After a restart on the same data dir, what was pushed before is intact, the
 * interrupted blob is not visible, its upload resumes from the offset the registry reports, and the same
 * blob pushed again completes with the right digest.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { request } from 'undici';
import { BERTH } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'berth-registry-crash-'));
const dataDir = join(work, 'data');
after(() => rmSync(work, { recursive: true, force: true }));

async function serve(port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BERTH, 'registry', '--port', String(port), '--data-dir', dataDir], {
    env: { ...process.env, BERTH_HOME: work, BERTH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const match = /registry is up: (http:\/\/\S+)/.exec(output);
    if (match) return { child, url: match[1]! };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`berth registry did not start:\n${output}`);
}

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushMonolithic(url: string, repo: string, data: Buffer): Promise<number> {
  const started = await request(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await started.body.dump();
  const location = new URL(String(started.headers.location), url);
  location.searchParams.set('digest', digestOf(data));
  const put = await request(location, {
    method: 'PUT',
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  await put.body.dump();
  return put.statusCode;
}

test('SIGKILL in the middle of a push: nothing corrupt, nothing partial visible, the push can be redone', async () => {
  let served = await serve(0);
  const port = Number(new URL(served.url).port);
  const before = randomBytes(1024 * 1024);
  assert.equal(await pushMonolithic(served.url, 'app', before), 201);

  // A 64 MiB blob as PATCH chunks: the first chunk completes, the second streams in slowly and the
  // registry is killed in the middle of it.
  const big = randomBytes(64 * 1024 * 1024);
  const started = await request(`${served.url}/v2/app/blobs/uploads/`, { method: 'POST' });
  await started.body.dump();
  const location = new URL(String(started.headers.location), served.url);
  const first = big.subarray(0, 8 * 1024 * 1024);
  const patch1 = await request(location, {
    method: 'PATCH',
    body: first,
    headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${first.length - 1}` },
  });
  await patch1.body.dump();
  assert.equal(patch1.statusCode, 202);
  const rest = big.subarray(first.length);
  let sent = 0;
  const slow = new Readable({
    read() {
      if (sent >= rest.length) return this.push(null);
      const piece = rest.subarray(sent, sent + 1024 * 1024);
      sent += piece.length;
      setTimeout(() => this.push(piece), 5);
    },
  });
  const victim = served.child;
  const patch2 = request(location, { method: 'PATCH', body: slow }).catch((err: unknown) => err);
  while (sent < 20 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
  const exited = new Promise((r) => victim.once('exit', r));
  victim.kill('SIGKILL');
  await exited;
  await patch2;

  served = await serve(port);
  try {
    // What was pushed before the crash is whole.
    const got = await request(`${served.url}/v2/app/blobs/${digestOf(before)}`);
    assert.equal(got.statusCode, 200);
    assert.equal(digestOf(Buffer.from(await got.body.arrayBuffer())), digestOf(before));
    // The interrupted blob is not visible.
    const head = await request(`${served.url}/v2/app/blobs/${digestOf(big)}`, { method: 'HEAD' });
    assert.equal(head.statusCode, 404);
    // The upload reports how much it holds; resuming from there with the rest completes with the digest.
    const status = await request(location);
    await status.body.dump();
    assert.equal(status.statusCode, 204);
    const range = /^0-(\d+)$/.exec(String(status.headers.range));
    assert.ok(range, `Range header: ${String(status.headers.range)}`);
    const offset = Number(range[1]) + 1;
    assert.ok(offset >= first.length && offset <= big.length, `offset ${offset}`);
    const done = new URL(location);
    done.searchParams.set('digest', digestOf(big));
    const finish = await request(done, {
      method: 'PUT',
      body: big.subarray(offset),
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${big.length - 1}`,
      },
    });
    await finish.body.dump();
    assert.equal(finish.statusCode, 201);
    const back = await request(`${served.url}/v2/app/blobs/${digestOf(big)}`);
    assert.equal(digestOf(Buffer.from(await back.body.arrayBuffer())), digestOf(big));
    // Pushing the same blob again from scratch also works (idempotent).
    assert.equal(await pushMonolithic(served.url, 'other', big), 201);
    // No partial file was ever adopted into the content store: every blob there hashes to its name.
    const blobs = readdirSync(join(dataDir, 'blobs', 'sha256'));
    assert.deepEqual(blobs.sort(), [digestOf(before), digestOf(big)].map((d) => d.slice(7)).sort());
    for (const hex of blobs)
      assert.equal(digestOf(readFileSync(join(dataDir, 'blobs', 'sha256', hex))), `sha256:${hex}`);
  } finally {
    served.child.kill('SIGTERM');
  }
});
