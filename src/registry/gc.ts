/**
 * Online garbage collection. The plan (gc-plan.ts) is computed and its metadata changes committed in
 * one synchronous span, so no request interleaves with them; the files go afterwards, each under its
 * digest's lock and only if no upload brought the blob back meanwhile. Files no record names (left by a
 * crash between a write and its commit) go too, once older than the grace window.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from '../image/index.js';
import { errnoCode } from '../core/fs.js';
import { computeGcPlan } from './gc-plan.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { RegistryMetadata } from './metadata.js';
import type { RegistryUploads } from './uploads.js';

export interface GcReport {
  linksRemoved: number;
  blobsRemoved: number;
  bytesFreed: number;
  uploadsRemoved: number;
  /** Stray files: blobs without a record, ingest and upload leftovers. */
  strayFilesRemoved: number;
  durationMs: number;
}

export interface GcDeps {
  meta: RegistryMetadata;
  content: ContentStore;
  uploads: RegistryUploads;
  locks: KeyedMutex;
  now: number;
  graceMs: number;
}

export async function collectGarbage(deps: GcDeps): Promise<GcReport> {
  const started = Date.now();
  const { meta, uploads, now, graceMs } = deps;
  const snapshot = meta.snapshot();
  const busyUploads = new Set(snapshot.uploads.map((u) => u.id).filter((id) => uploads.isBusy(id)));
  const plan = computeGcPlan(snapshot, { now, graceMs, busyUploads });
  meta.applyGcPlan(plan);
  let bytesFreed = 0;
  let blobsRemoved = 0;
  for (const digest of plan.blobs) {
    const freed = await removeBlobFile(deps, digest);
    if (freed !== undefined) {
      blobsRemoved++;
      bytesFreed += freed;
    }
  }
  for (const id of plan.uploads) await uploads.remove(id);
  const strays = await removeStrayFiles(deps, now - graceMs);
  return {
    linksRemoved: plan.links.length,
    blobsRemoved,
    bytesFreed: bytesFreed + strays.bytes,
    uploadsRemoved: plan.uploads.length,
    strayFilesRemoved: strays.files,
    durationMs: Date.now() - started,
  };
}

/** Deletes a blob's file unless it has a record again; returns the bytes freed. */
async function removeBlobFile(deps: GcDeps, digest: string): Promise<number | undefined> {
  return deps.locks.run(digest, async () => {
    if (deps.meta.hasBlob(digest)) return undefined;
    const path = deps.content.path(digest);
    try {
      const { size } = await stat(path);
      await rm(path, { force: true });
      return size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  });
}

async function oldFiles(dir: string, cutoff: number): Promise<Array<{ name: string; size: number }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: Array<{ name: string; size: number }> = [];
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < cutoff) out.push({ name, size: info.size });
  }
  return out;
}

async function removeStrayFiles(deps: GcDeps, cutoff: number): Promise<{ files: number; bytes: number }> {
  const { content, meta, uploads, locks } = deps;
  let files = 0;
  let bytes = 0;
  for (const { name, size } of await oldFiles(join(content.root, 'blobs', 'sha256'), cutoff)) {
    const digest = `sha256:${name}`;
    const removed = await locks.run(digest, async () => {
      if (meta.hasBlob(digest)) return false;
      await rm(join(content.root, 'blobs', 'sha256', name), { force: true });
      return true;
    });
    if (!removed) continue;
    files++;
    bytes += size;
  }
  for (const { name, size } of await oldFiles(join(content.root, 'ingest'), cutoff)) {
    await rm(join(content.root, 'ingest', name), { force: true });
    files++;
    bytes += size;
  }
  for (const { name, size } of await oldFiles(uploads.dir, cutoff)) {
    if (meta.getUpload(name) || uploads.isBusy(name)) continue;
    await rm(join(uploads.dir, name), { force: true });
    files++;
    bytes += size;
  }
  return { files, bytes };
}
