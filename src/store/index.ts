export type {
  ApplyOptions,
  ListOptions,
  StateStore,
  StoreCondition,
  StoreEntry,
  StoreOp,
} from './state-store.js';
export { openStore, parseStoreUrl } from './open-store.js';
export type { StoreTarget } from './open-store.js';
export { compareKeys } from './keys.js';
export { MemoryStore } from './memory/memory-store.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export type { SqliteOpenOptions, SqliteSynchronous } from './sqlite/sqlite-schema.js';
export * from './errors.js';
