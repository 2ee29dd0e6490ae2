/**
 * `berth image prune`: removes blobs no image in index.json reaches, unpacked layers no image uses,
 * and build-cache entries whose layers are gone. Never removes what a task or a running build uses:
 * the caller passes the references tasks run, builds register what they hold in `InUseRegistry`, and
 * layers mounted as overlay lower dirs (read from /proc/self/mountinfo) are kept too.
 */
import { readFileSync } from 'node:fs';
import { BerthError } from '../core/errors.js';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_CACHE_DIR, listCacheEntries } from './build/cache.js';
import { digestHex } from './digest.js';
import { errnoCode } from '../core/fs.js';
import type { ImageStore } from './image-store.js';
import { MEDIA_TYPE_INDEX, type OciImageConfigFile, type OciIndex, type OciManifest } from './oci.js';

/** Digests (blobs and diff ids) held by work in progress, e.g. a build. */
export class InUseRegistry {
  private readonly holders = new Map<symbol, Set<string>>();

  /** Registers a set (which the holder may keep adding to); returns the release function. */
  hold(digests: Set<string>): () => void {
    const key = Symbol('holder');
    this.holders.set(key, digests);
    return () => void this.holders.delete(key);
  }

  all(): Set<string> {
    const out = new Set<string>();
    for (const set of this.holders.values()) for (const d of set) out.add(d);
    return out;
  }
}

export interface PruneOptions {
  /** References of the images tasks use (running or kept); their blobs and layers stay. */
  inUseReferences?: string[];
  registry?: InUseRegistry;
  /** Blobs and dirs changed more recently than this are kept (an import may be about to tag them). */
  graceMs?: number;
  now?: number;
}

export interface PruneResult {
  blobs: number;
  layers: number;
  cacheEntries: number;
  bytes: number;
}

/** Every blob digest and diff id reachable from a manifest (or a nested index). */
export async function collectReachable(store: ImageStore, digest: string, into: Set<string>): Promise<void> {
  if (into.has(digest)) return;
  let doc: (OciManifest & Partial<OciIndex>) | undefined;
  try {
    doc = await store.content.readJSON<OciManifest & Partial<OciIndex>>(digest);
  } catch {
    return; // missing or damaged: nothing more is reachable through it
  }
  into.add(digest);
  if (doc.mediaType === MEDIA_TYPE_INDEX || Array.isArray(doc.manifests)) {
    for (const m of doc.manifests ?? []) await collectReachable(store, m.digest, into);
    return;
  }
  if (doc.config?.digest) {
    into.add(doc.config.digest);
    const config = await store.content.readJSON<OciImageConfigFile>(doc.config.digest).catch(() => undefined);
    for (const diffId of config?.rootfs?.diff_ids ?? []) into.add(diffId);
  }
  for (const layer of doc.layers ?? []) into.add(layer.digest);
}

/**
 * Layer ids a mounted overlay uses as lower dirs: every sha256 hex in an overlay's lowerdir option
 * (the paths may be relative when the list is long; keeping too much is harmless). Pure.
 */
export function mountedLayerIds(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    if (!line.includes(' overlay ')) continue;
    const lower = /lowerdir=([^,\s]*)/.exec(line)?.[1] ?? '';
    for (const match of lower.matchAll(/[a-f0-9]{64}/g)) out.add(`sha256:${match[0]}`);
  }
  return out;
}

export async function pruneImages(store: ImageStore, options: PruneOptions = {}): Promise<PruneResult> {
  const now = options.now ?? Date.now();
  const grace = options.graceMs ?? 10_000;
  const keep = new Set<string>(options.registry?.all() ?? []);
  for (const entry of await store.indexEntries()) await collectReachable(store, entry.digest, keep);
  for (const ref of options.inUseReferences ?? []) {
    const image = await store.resolve(ref).catch(() => undefined);
    if (image) await collectReachable(store, image.manifestDigest, keep);
  }
  const layersDir = join(store.root, 'layers');
  for (const id of mountedLayerIds(readMountinfo())) keep.add(id);
  const result: PruneResult = { blobs: 0, layers: 0, cacheEntries: 0, bytes: 0 };
  result.cacheEntries = await pruneBuildCache(store.root, keep);
  const fresh = async (path: string): Promise<boolean> => now - (await stat(path)).mtimeMs < grace;
  for (const hex of await readdirOrEmpty(join(store.root, 'blobs', 'sha256'))) {
    const path = join(store.root, 'blobs', 'sha256', hex);
    if (keep.has(`sha256:${hex}`) || (await fresh(path))) continue;
    result.bytes += (await stat(path)).size;
    await rm(path, { force: true });
    result.blobs++;
  }
  for (const hex of await readdirOrEmpty(join(layersDir, 'sha256'))) {
    const path = join(layersDir, 'sha256', hex);
    if (keep.has(`sha256:${hex}`) || (await fresh(path))) continue;
    await rm(path, { recursive: true, force: true });
    result.layers++;
  }
  await removeStale(join(store.root, 'ingest'), now, Math.max(grace, 3_600_000));
  return result;
}

/** Drops build-cache entries that name a layer no longer kept. */
async function pruneBuildCache(root: string, keep: Set<string>): Promise<number> {
  let removed = 0;
  for (const { file, entry } of await listCacheEntries(join(root, BUILD_CACHE_DIR))) {
    const layers = entry?.layers ?? [];
    if (entry !== undefined && layers.every((l) => keep.has(l.digest))) {
      for (const l of layers) keep.add(l.diffId);
      continue;
    }
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

async function removeStale(dir: string, now: number, ageMs: number): Promise<void> {
  for (const name of await readdirOrEmpty(dir)) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > ageMs) await rm(path, { recursive: true, force: true });
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(
      (name) => digestHex(`sha256:${name}`) !== undefined || dir.endsWith('ingest'),
    );
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/** `berth rmi` of an image a task still uses. */
export class ImageInUseError extends BerthError {
  readonly code = 'ERR_IMAGE_IN_USE';
  constructor(readonly reference: string) {
    super(`image "${reference}" is used by a task: stop the task first, or remove it anyway with --force`);
  }
}
