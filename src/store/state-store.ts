/**
 * The StateStore contract. Every implementation (memory/, sqlite/, and etcd/ later) must pass
 * `runStoreConformance` in `conformance.ts`.
 *
 * The model is etcd's, so that etcd fits without translation:
 * - One store-wide revision. Each `apply` that writes something advances it by one; every key written by
 *   that apply gets it as its `revision` (etcd's mod_revision). An apply that changes nothing (no ops,
 *   or only deletes of absent keys) returns the current revision and does not advance it. A put always
 *   counts as a write, even of an identical value.
 * - `apply` is one transaction (etcd: Txn). Conditions compare a key's revision (etcd: mod_revision; 0
 *   means absent, etcd: create_revision = 0); they are checked before any op and all must hold.
 * - Ops run in order inside the apply: a put after a deletePrefix that covers it survives, a put before
 *   it does not. (etcd rejects overlapping ops in one Txn; its implementation must first reduce the ops to
 *   their net effect, e.g. split a delete range around later puts.)
 * - Keys sort by Unicode code point, which is UTF-8 byte order (SQLite's BINARY collation, etcd's order).
 * - Reads return deep-frozen values: callers can never mutate stored state.
 * Watch (etcd: watch from a revision) is not part of the contract yet; `list` then watch from the
 * returned revision + 1 is the intended shape, which is why every entry carries its revision.
 */
export interface StoreEntry<T = unknown> {
  key: string;
  value: T;
  /** The store revision of the write that last set this key. */
  revision: number;
}

export type StoreOp =
  | { op: 'put'; key: string; value: unknown }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

/** The key must be at `revision`; 0 means the key must not exist. */
export interface StoreCondition {
  key: string;
  revision: number;
}

export interface ListOptions {
  /** The most entries to return (a positive integer); all when absent. */
  limit?: number;
}

export interface ApplyOptions {
  if?: StoreCondition[];
}

export interface StateStore {
  get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined>;
  /** The entries whose key starts with `prefix` ("" = all), ordered by key. */
  list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>>;
  /** Atomic: all ops or none. A failed condition throws StoreConflictError and writes nothing. */
  apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }>;
  /** The current store-wide revision: that of the last apply that wrote something. */
  revision(): Promise<number>;
  /** Idempotent. Every other call on a closed store throws StoreClosedError. */
  close(): Promise<void>;
}
