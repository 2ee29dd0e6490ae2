import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { FakeClock } from '../core/clock.js';
import { startRegistry } from './server.js';
import {
  digestOf,
  errorCode,
  pushBlob,
  pushImageBlobs,
  putManifest,
  startTestRegistry,
} from './test-fixtures.js';

const HOUR = 3_600_000;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function fresh(): Promise<{ reg: Awaited<ReturnType<typeof startTestRegistry>>; clock: FakeClock }> {
  const clock = new FakeClock(Date.now());
  const reg = await startTestRegistry({ clock });
  cleanups.push(() => reg.stop());
  return { reg, clock };
}

const blobFile = (root: string, digest: string): string => join(root, 'blobs', 'sha256', digest.slice(7));

test('the race: blobs pushed, GC runs before the manifest, the manifest still goes in', async () => {
  const { reg } = await fresh();
  const manifest = await pushImageBlobs(reg.url, 'race', ['layer a', 'layer b']);
  const report = await reg.registry.gc();
  assert.equal(report.blobsRemoved, 0);
  assert.equal(report.linksRemoved, 0);
  const res = await putManifest(reg.url, 'race', 'v1', manifest);
  assert.equal(res.status, 201);
  assert.equal(await (await fetch(`${reg.url}/v2/race/blobs/${digestOf('layer a')}`)).text(), 'layer a');
});

test('unreferenced blobs older than the grace window are collected; a late manifest is then refused', async () => {
  const { reg, clock } = await fresh();
  const manifest = await pushImageBlobs(reg.url, 'late', ['orphan layer']);
  clock.advance(2 * HOUR);
  const report = await reg.registry.gc();
  assert.equal(report.linksRemoved, 2);
  assert.equal(report.blobsRemoved, 2);
  assert.ok(report.bytesFreed > 0);
  assert.equal(existsSync(blobFile(reg.root, digestOf('orphan layer'))), false);
  const res = await putManifest(reg.url, 'late', 'v1', manifest);
  assert.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
});

test('what manifests reference survives; a deleted manifest frees what only it used', async () => {
  const { reg, clock } = await fresh();
  const kept = await pushImageBlobs(reg.url, 'keep', ['shared', 'only kept']);
  await putManifest(reg.url, 'keep', 'v1', kept);
  const dropped = await pushImageBlobs(reg.url, 'drop', ['shared', 'only dropped']);
  await putManifest(reg.url, 'drop', 'v1', dropped);
  clock.advance(2 * HOUR);
  assert.equal((await reg.registry.gc()).blobsRemoved, 0);
  assert.equal(
    (await fetch(`${reg.url}/v2/drop/manifests/${digestOf(dropped)}`, { method: 'DELETE' })).status,
    202,
  );
  clock.advance(2 * HOUR);
  const report = await reg.registry.gc();
  // The dropped manifest's bytes and its own layer; the config and "shared" are still used by "keep".
  assert.equal(report.blobsRemoved, 2);
  assert.equal(existsSync(blobFile(reg.root, digestOf(dropped))), false);
  assert.equal(existsSync(blobFile(reg.root, digestOf('only dropped'))), false);
  assert.equal(existsSync(blobFile(reg.root, digestOf('shared'))), true);
  assert.equal((await fetch(`${reg.url}/v2/keep/manifests/v1`)).status, 200);
  assert.equal((await fetch(`${reg.url}/v2/keep/blobs/${digestOf('only kept')}`)).status, 200);
});

test('idle uploads and stray files are collected; busy uploads never are', async () => {
  const { reg, clock } = await fresh();
  const idle = (await fetch(`${reg.url}/v2/up/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
  await fetch(`${reg.url}${idle}`, { method: 'PATCH', body: 'partial' });
  const stray = join(reg.root, 'blobs', 'sha256', 'f'.repeat(64));
  const ingest = join(reg.root, 'ingest', 'leftover');
  for (const file of [stray, ingest]) {
    writeFileSync(file, 'junk');
    const old = new Date(Date.now() - 2 * HOUR);
    utimesSync(file, old, old);
  }
  // A slow upload that is in progress while GC runs with no grace at all.
  const busy = (await fetch(`${reg.url}/v2/up/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const patching = fetch(`${reg.url}${busy}`, {
    method: 'PATCH',
    body: new ReadableStream({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('slow '));
        await gate;
        controller.enqueue(new TextEncoder().encode('upload'));
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  await new Promise((r) => setTimeout(r, 100));
  clock.advance(2 * HOUR);
  const report = await reg.registry.gc({ graceMs: 0 });
  assert.equal(report.uploadsRemoved, 1);
  assert.equal(report.strayFilesRemoved, 2);
  assert.equal(existsSync(stray), false);
  assert.equal(existsSync(ingest), false);
  assert.equal((await fetch(`${reg.url}${idle}`)).status, 404);
  release();
  assert.equal((await patching).status, 202);
  const put = await fetch(`${reg.url}${busy}?digest=${digestOf('slow upload')}`, { method: 'PUT' });
  assert.equal(put.status, 201);
});

test('POST /admin/gc runs a collection and reports it', async () => {
  const { reg } = await fresh();
  await pushBlob(reg.url, 'admin', 'x');
  const res = await fetch(`${reg.url}/admin/gc`, { method: 'POST' });
  assert.equal(res.status, 200);
  const report = (await res.json()) as { blobsRemoved: number; durationMs: number };
  assert.equal(report.blobsRemoved, 0);
  assert.equal(typeof report.durationMs, 'number');
});

test('state survives a restart, and an upload resumes after one', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-registry-restart-'));
  cleanups.push(async () => rmSync(root, { recursive: true, force: true }));
  let reg = await startRegistry({ root, port: 0 });
  const manifest = await pushImageBlobs(reg.url, 'persist', ['l']);
  await putManifest(reg.url, 'persist', 'v1', manifest);
  const location = (await fetch(`${reg.url}/v2/persist/blobs/uploads/`, { method: 'POST' })).headers.get(
    'location',
  )!;
  await fetch(`${reg.url}${location}`, { method: 'PATCH', body: 'first half, ' });
  await reg.close();
  reg = await startRegistry({ root, port: 0 });
  try {
    assert.equal(await (await fetch(`${reg.url}/v2/persist/manifests/v1`)).text(), manifest);
    assert.equal((await fetch(`${reg.url}${location}`)).headers.get('range'), '0-11');
    await fetch(`${reg.url}${location}`, {
      method: 'PATCH',
      body: 'second half',
      headers: { 'content-range': '12-22' },
    });
    const digest = digestOf('first half, second half');
    assert.equal((await fetch(`${reg.url}${location}?digest=${digest}`, { method: 'PUT' })).status, 201);
    assert.equal(
      await (await fetch(`${reg.url}/v2/persist/blobs/${digest}`)).text(),
      'first half, second half',
    );
  } finally {
    await reg.close();
  }
});
