import { InvalidStoreUrlError } from './errors.js';
import { EtcdStore } from './etcd/etcd-store.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { StateStore } from './state-store.js';

export type StoreTarget =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  /** `hosts` are client URLs (http:// for etcd://, https:// for etcds://). */
  | { kind: 'etcd'; hosts: string[]; namespace: string };

const ACCEPTED =
  'use "memory:", "sqlite:/path/to/state.db", a plain file path, or "etcd://host:2379[,host:2379...][/namespace/]"';
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;
const HOST = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:[0-9]{1,5})?$/;

/** Where a store URL points. Pure: opens nothing. */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url !== 'string' || url.trim() === '')
    throw new InvalidStoreUrlError(String(url), `it is empty; ${ACCEPTED}`);
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'sqlite', path: url };
  if (scheme === 'memory' && url.length === 'memory:'.length) return { kind: 'memory' };
  if (scheme === 'sqlite') return { kind: 'sqlite', path: sqlitePath(url) };
  if (scheme === 'etcd' || scheme === 'etcds') return etcdTarget(url, scheme);
  throw new InvalidStoreUrlError(url, ACCEPTED);
}

/** "sqlite:/a/b", "sqlite:///a/b" and "sqlite:rel/b" are all accepted. */
function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw new InvalidStoreUrlError(url, `it names no file; ${ACCEPTED}`);
  return path;
}

/** "etcd://a:2379,b:2379" (namespace "/berth/") or "etcd://a:2379/team-x/" (namespace "/team-x/"). */
function etcdTarget(url: string, scheme: string): StoreTarget {
  const rest = url.slice(scheme.length + 1);
  if (!rest.startsWith('//')) throw new InvalidStoreUrlError(url, `it names no etcd host; ${ACCEPTED}`);
  const slash = rest.indexOf('/', 2);
  const authority = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  const names = authority.split(',');
  if (authority === '' || names.some((h) => !HOST.test(h)))
    throw new InvalidStoreUrlError(url, `"${authority}" is not a list of host:port; ${ACCEPTED}`);
  const protocol = scheme === 'etcds' ? 'https' : 'http';
  const hosts = names.map((h) => `${protocol}://${h.includes(':') && !h.endsWith(']') ? h : `${h}:2379`}`);
  const namespace = path === '' || path === '/' ? '/berth/' : path.endsWith('/') ? path : `${path}/`;
  return { kind: 'etcd', hosts, namespace };
}

export async function openStore(url: string): Promise<StateStore> {
  const target = parseStoreUrl(url);
  if (target.kind === 'memory') return new MemoryStore();
  if (target.kind === 'sqlite') return SqliteStore.open(target.path);
  return EtcdStore.open({ hosts: target.hosts, namespace: target.namespace });
}
