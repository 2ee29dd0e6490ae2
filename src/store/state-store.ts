/**
 * The StateStore contract. Every implementation (memory/, sqlite/, etcd/) must pass `runStoreConformance`
 * in `conformance.ts`.
 *
 * The model is etcd's, so that etcd fits without translation:
 * - One store-wide revision. Each `apply` that writes something advances it by one; every key written by
 *   that apply gets it as its `revision` (etcd's mod_revision). An apply that changes nothing returns the
 *   current revision and does not advance it. (In etcd the revision is cluster-wide: writes under other
 *   namespaces advance it too. Revisions only ever grow; do not expect them to be consecutive.)
 * - `apply` is one transaction (etcd: Txn): the compare-and-set. Conditions compare a key's revision
 *   (etcd: mod_revision; 0 means absent, etcd: create_revision = 0) and the optional fence compares a
 *   key's create revision; they are checked before any op and all must hold.
 * - Ops take effect as if run in order, but only their NET effect per key is written (etcd forbids
 *   touching a key twice in one Txn): a put after a deletePrefix that covers it survives, a put before it
 *   does not; a key that exists before and after the apply was replaced, not re-created (it keeps its
 *   create revision); a key created and deleted in the same apply never existed (no event, and if nothing
 *   else changed, no new revision). A put always counts as a write, even of an identical value.
 * - Keys sort by Unicode code point, which is UTF-8 byte order (SQLite's BINARY collation, etcd's order).
 * - Reads and events return deep-frozen values: callers can never mutate stored state.
 * - Watch: `list` (or `revision`) then `watch` from the returned revision + 1 sees every later change once.
 */
export interface StoreEntry<T = unknown> {
  key: string;
  value: T;
  /** The store revision of the write that last set this key. */
  revision: number;
}

export type StoreOp =
  /** With `lease`, the key is deleted when that lease expires or is revoked; without, it is detached. */
  | { op: 'put'; key: string; value: unknown; lease?: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

/** The key must be at `revision`; 0 means the key must not exist. */
export interface StoreCondition {
  key: string;
  revision: number;
}

/**
 * A fenced write (leader election): the apply fails with StoreConflictError unless `key` exists and was
 * created at `createRevision` — i.e. the leader key this process created (the revision its creating apply
 * returned) has not since been deleted, expired or re-created by someone else.
 */
export interface StoreFence {
  key: string;
  createRevision: number;
}

export interface ListOptions {
  /** The most entries to return (a positive integer); all when absent. */
  limit?: number;
}

export interface ApplyOptions {
  if?: StoreCondition[];
  fence?: StoreFence;
}

/** One change to one key. A revision's events are delivered together, ordered by key. */
export type StoreEvent<T = unknown> =
  | { type: 'put'; key: string; value: T; revision: number }
  | { type: 'delete'; key: string; revision: number };

export interface WatchOptions {
  /**
   * Deliver the events with revision >= fromRevision (etcd's start_revision: inclusive), a positive
   * integer; a future revision is allowed. Absent: only changes made after `watch` was called. A revision
   * older than the store's history (compacted) rejects with StoreCompactedError: list again, then watch
   * from the listed revision + 1.
   */
  fromRevision?: number;
}

export interface StoreWatch {
  /** Stops delivery; no `onEvents` call happens after it resolves. Idempotent. */
  close(): Promise<void>;
  /**
   * Settles once the watch has ended: with undefined after `close()` (or the store's close), or with the
   * error that ended it — StoreCompactedError when the watch fell behind the store's history, or the
   * error thrown by `onEvents`. Never rejects.
   */
  readonly ended: Promise<Error | undefined>;
}

/**
 * A lease: keys put with `lease: id` are deleted (a normal revisioned delete, seen by watchers) when it
 * expires or is revoked. It expires `ttlMs` after the grant or the last `keepAlive`.
 */
export interface Lease {
  readonly id: string;
  /** The granted time to live; etcd rounds up to whole seconds and to its minimum TTL. */
  readonly ttlMs: number;
  /** Restarts the time to live. Rejects with StoreLeaseNotFoundError once the lease is gone. */
  keepAlive(): Promise<void>;
  /** Deletes the lease and its keys now. Idempotent: revoking a lease that is gone does nothing. */
  revoke(): Promise<void>;
}

export interface StateStore {
  get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined>;
  /** The entries whose key starts with `prefix` ("" = all), ordered by key. */
  list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>>;
  /** Atomic: all ops or none. A failed condition or fence throws StoreConflictError and writes nothing. */
  apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }>;
  /** The current store-wide revision: that of the last write. */
  revision(): Promise<number>;
  /**
   * Calls `onEvents` with the changes to keys under `prefix` ("" = all), in revision order, each exactly
   * once; one call carries one or more complete revisions. Calls are asynchronous (never inside `apply`).
   */
  watch<T>(
    prefix: string,
    options: WatchOptions,
    onEvents: (events: ReadonlyArray<StoreEvent<T>>) => void,
  ): Promise<StoreWatch>;
  /** Discards the history before `revision` (etcd: compact); watches from older revisions then fail. */
  compact(revision: number): Promise<void>;
  /** A lease of at least `ttlMs` (a positive integer). */
  grantLease(ttlMs: number): Promise<Lease>;
  /** Idempotent; ends every watch of this store. Every other call on a closed store throws StoreClosedError. */
  close(): Promise<void>;
}
