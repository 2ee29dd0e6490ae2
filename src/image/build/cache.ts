/**
 * The build cache: one JSON file per step result, named by the step's key — a hash of the parent
 * state's key, the instruction after substitution, and the content hash of what it copies. A hit
 * replays the step (its layer, config and history entry) without running it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '../digest.js';
import { errnoCode, writeFileAtomic } from '../../core/fs.js';
import type { ContentStore } from '../content-store.js';
import type { HistoryEntry, ImageConfig, LayerDescriptor } from '../oci.js';
import { mkdir } from 'node:fs/promises';

export const BUILD_CACHE_DIR = 'build-cache';

export interface CacheEntry {
  key: string;
  /** The layer the step made (none for ENV, LABEL …). */
  layers: LayerDescriptor[];
  config: ImageConfig;
  history: HistoryEntry;
}

/** The key of a step: pure, and stable across processes. */
export function computeStepKey(
  parentKey: string,
  instruction: string,
  extra: readonly string[] = [],
): string {
  return sha256Digest(JSON.stringify([parentKey, instruction, ...extra]));
}

export class BuildCache {
  constructor(
    readonly dir: string,
    private readonly content: ContentStore,
  ) {}

  private file(key: string): string {
    return join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
  }

  /** The entry for `key`, if present and its layer blobs are still in the store. */
  async get(key: string): Promise<CacheEntry | undefined> {
    let entry: CacheEntry;
    try {
      entry = JSON.parse(await readFile(this.file(key), 'utf8')) as CacheEntry;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
    for (const layer of entry.layers) if (!(await this.content.has(layer.digest))) return undefined;
    return entry;
  }

  async put(entry: CacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file(entry.key), JSON.stringify(entry));
  }
}

/** Every entry file in a cache dir (an unreadable one comes with `entry: undefined`). */
export async function listCacheEntries(dir: string): Promise<Array<{ file: string; entry?: CacheEntry }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: Array<{ file: string; entry?: CacheEntry }> = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = join(dir, name);
    try {
      out.push({ file, entry: JSON.parse(await readFile(file, 'utf8')) as CacheEntry });
    } catch {
      out.push({ file });
    }
  }
  return out;
}
