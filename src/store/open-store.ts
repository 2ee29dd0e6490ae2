import { InvalidStoreUrlError } from './errors.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { StateStore } from './state-store.js';

export type StoreTarget = { kind: 'memory' } | { kind: 'sqlite'; path: string };

const ACCEPTED = 'use "memory:", "sqlite:/path/to/state.db" or a plain file path';
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

/** Where a store URL points. Pure: opens nothing. */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url !== 'string' || url.trim() === '')
    throw new InvalidStoreUrlError(String(url), `it is empty; ${ACCEPTED}`);
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'sqlite', path: url };
  if (scheme === 'memory' && url.length === 'memory:'.length) return { kind: 'memory' };
  if (scheme === 'sqlite') return { kind: 'sqlite', path: sqlitePath(url) };
  if (scheme === 'etcd' || scheme === 'etcds')
    throw new InvalidStoreUrlError(url, `the etcd store is not built yet; ${ACCEPTED}`);
  throw new InvalidStoreUrlError(url, ACCEPTED);
}

/** "sqlite:/a/b", "sqlite:///a/b" and "sqlite:rel/b" are all accepted. */
function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw new InvalidStoreUrlError(url, `it names no file; ${ACCEPTED}`);
  return path;
}

export async function openStore(url: string): Promise<StateStore> {
  const target = parseStoreUrl(url);
  return target.kind === 'memory' ? new MemoryStore() : SqliteStore.open(target.path);
}
