/**
 * Turns a directory into a layer: a task's overlay upper dir (`berth commit`, a build's RUN step) or a
 * staging dir (a build's COPY). The overlay spellings of deletions become the OCI ones: a 0/0
 * character device becomes `.wh.NAME`, a directory marked `trusted.overlay.opaque=y` gets a
 * `.wh..wh..opq` entry before its children.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar, { type Pack } from 'tar-stream';
import type { ContentStore } from './content-store.js';
import { HashingStream } from './digest.js';
import { findOpaqueDirs } from './diff-xattrs.js';
import { MEDIA_TYPE_LAYER_GZIP, type LayerDescriptor } from './oci.js';
import { packEntry } from './pack-directory.js';
import { packMode } from './tar-entries.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

export interface DiffOptions {
  /** Read the overlay conventions (whiteout devices, opaque xattrs); false for a plain directory. */
  overlay: boolean;
  /** Names (relative, "a/b") to leave out, with everything under them. */
  exclude?: ReadonlySet<string>;
}

interface DiffState {
  root: string;
  pack: Pack;
  overlay: boolean;
  opaque: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
  links: Map<string, string>;
  entries: number;
}

/** What an overlay upper dir entry means in a layer. */
export type DiffKind = 'whiteout' | 'entry';

/** A 0/0 character device in an upper dir is overlayfs's record of a deletion. */
export function classifyUpperEntry(stats: Pick<Stats, 'rdev'> & { isCharacterDevice(): boolean }): DiffKind {
  return stats.isCharacterDevice() && stats.rdev === 0 ? 'whiteout' : 'entry';
}

/** Packs the tree under `root` into `pack` (sorted, reproducible), converting overlay markers. */
export async function packDiff(root: string, pack: Pack, options: DiffOptions): Promise<number> {
  const opaque = options.overlay ? await findOpaqueDirs(root) : new Set<string>();
  const state: DiffState = {
    root,
    pack,
    overlay: options.overlay,
    opaque,
    exclude: options.exclude ?? new Set(),
    links: new Map(),
    entries: 0,
  };
  if (opaque.has('')) await addMarker(state, OPAQUE_WHITEOUT);
  await packTree(state, '');
  return state.entries;
}

async function packTree(state: DiffState, dir: string): Promise<void> {
  const names = (await readdir(join(state.root, dir))).sort();
  for (const name of names) {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (state.exclude.has(path)) continue;
    const stats = await lstat(join(state.root, path));
    if (state.overlay && classifyUpperEntry(stats) === 'whiteout') {
      await addMarker(state, dir === '' ? `${WHITEOUT_PREFIX}${name}` : `${dir}/${WHITEOUT_PREFIX}${name}`);
      continue;
    }
    if (await packEntry(state, path, stats)) state.entries++;
    if (!stats.isDirectory()) continue;
    if (state.opaque.has(path)) await addMarker(state, `${path}/${OPAQUE_WHITEOUT}`);
    await packTree(state, path);
  }
}

/** An empty regular file entry (a whiteout): with an empty body, or tar-stream waits for one. */
function addMarker(state: DiffState, name: string): Promise<void> {
  state.entries++;
  const header = { name, type: 'file' as const, mode: packMode(0o644), mtime: new Date(0), size: 0 };
  return new Promise((resolve, reject) =>
    state.pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * Packs `dir` into a gzip layer in the content store, hashing the tar (the diff id) and the blob in
 * one pass. Returns the layer and how many entries it has (0: the directory was empty).
 */
export async function writeDiffLayer(
  content: ContentStore,
  dir: string,
  options: DiffOptions,
): Promise<LayerDescriptor & { entries: number }> {
  const pack = tar.pack();
  const filled = packDiff(dir, pack, options).then(
    (n) => {
      pack.finalize();
      return n;
    },
    (err: unknown) => {
      pack.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    },
  );
  const diff = new HashingStream();
  const gzip = createGzip({ level: 6 });
  const [packed, ingested, counted] = await Promise.allSettled([
    pipeline(Readable.from(pack), diff, gzip),
    content.ingest(gzip),
    filled,
  ]);
  if (counted.status === 'rejected') throw counted.reason;
  if (packed.status === 'rejected') throw packed.reason;
  if (ingested.status === 'rejected') throw ingested.reason;
  const blob = ingested.value;
  return {
    mediaType: MEDIA_TYPE_LAYER_GZIP,
    digest: blob.digest,
    size: blob.size,
    diffId: diff.digest(),
    entries: counted.value,
  };
}
