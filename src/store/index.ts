export type {
  ApplyOptions,
  Lease,
  ListOptions,
  StateStore,
  StoreCondition,
  StoreEntry,
  StoreEvent,
  StoreFence,
  StoreOp,
  StoreWatch,
  WatchOptions,
} from './state-store.js';
export { openStore, parseStoreUrl } from './open-store.js';
export type { StoreTarget } from './open-store.js';
export { compareKeys } from './keys.js';
export { MemoryStore } from './memory/memory-store.js';
export type { MemoryStoreOptions } from './memory/memory-store.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite/sqlite-store.js';
export type { SqliteOpenOptions, SqliteSynchronous } from './sqlite/sqlite-schema.js';
export { EtcdStore } from './etcd/etcd-store.js';
export type { EtcdStoreOptions } from './etcd/etcd-store.js';
export * from './errors.js';
