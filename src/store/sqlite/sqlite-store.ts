import { resolve } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import { StoreBusyError, StoreClosedError, StoreCompactedError, StoreLeaseNotFoundError } from '../errors.js';
import { ExpiryTimer, makeLease } from '../expiry-timer.js';
import { checkKey, checkPrefix, prefixEnd } from '../keys.js';
import { computeNetEffect, executeNetEffect } from '../net-effect.js';
import type { NetEffect, NetEffectTarget } from '../net-effect.js';
import {
  checkCompactRevision,
  checkConditions,
  checkFence,
  checkLimit,
  checkTtl,
  checkWatch,
  enforceConditions,
  prepareOps,
} from '../ops.js';
import type { PreparedOp } from '../ops.js';
import type {
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
} from '../state-store.js';
import { decodeValue } from '../values.js';
import { openDatabase } from './sqlite-schema.js';
import type { SqliteOpenOptions } from './sqlite-schema.js';
import { prepareStatements } from './sqlite-statements.js';
import type { KvRow, Statements } from './sqlite-statements.js';
import { SqliteWatches } from './sqlite-watches.js';

export interface SqliteStoreOptions extends SqliteOpenOptions {
  /** Lease deadlines follow this clock (default: the system clock; share one clock across processes). */
  clock?: Clock;
  /** How often watches look for commits made by other processes (ms, default 100). */
  pollIntervalMs?: number;
  /** How many recent revisions the change log keeps for watches (default 10 000); older ones are pruned. */
  historyRevisions?: number;
}

/** Pruning the change log is a range delete; doing it every so many revisions keeps applies cheap. */
const PRUNE_EVERY = 64;

/**
 * The embedded StateStore: one SQLite file (WAL mode), see sqlite-schema.ts for durability. better-sqlite3
 * is synchronous, so each call completes before the next starts; `apply` is one IMMEDIATE transaction, so
 * it is also atomic against other processes using the same file. Each write also appends its events to
 * the `changes` table in the same transaction; watches read it (sqlite-watches.ts). Leases are rows with a
 * deadline on the clock; due leases expire on a timer and at the start of every call, in any process.
 */
export class SqliteStore implements StateStore {
  private readonly sql: Statements;
  private readonly applyTxn: (ops: PreparedOp[], conditions: StoreCondition[], fence?: StoreFence) => number;
  private readonly clock: Clock;
  private readonly historyRevisions: number;
  private readonly watches: SqliteWatches;
  private readonly timer: ExpiryTimer;
  private closed = false;
  private readonly target: NetEffectTarget = {
    keysUnder: (prefix) => {
      const end = prefixEnd(prefix);
      return end === undefined ? this.sql.keysFrom.all(prefix) : this.sql.keysRange.all(prefix, end);
    },
    createRevisionOf: (key) => this.sql.get.get(key)?.create_revision,
    remove: (key) => this.sql.delete.run(key),
    write: ({ key, text, revision, createRevision, lease }) =>
      this.sql.put.run(key, text, revision, createRevision, lease === undefined ? null : Number(lease)),
  };

  private constructor(
    private readonly db: Db,
    readonly path: string,
    options: SqliteStoreOptions,
  ) {
    this.sql = prepareStatements(db);
    this.clock = options.clock ?? systemClock;
    this.historyRevisions = Math.max(1, options.historyRevisions ?? 10_000);
    this.watches = new SqliteWatches(db, this.sql, options.pollIntervalMs ?? 100, (fn) => this.guard(fn));
    this.timer = new ExpiryTimer(this.clock, () => this.expireDueQuietly());
    const txn = db.transaction((ops: PreparedOp[], conditions: StoreCondition[], fence?: StoreFence) =>
      this.applyNow(ops, conditions, fence),
    );
    this.applyTxn = (ops, conditions, fence) => txn.immediate(ops, conditions, fence);
  }

  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const absolute = resolve(path);
    return new SqliteStore(openDatabase(absolute, options), absolute, options);
  }

  async get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined> {
    this.begin();
    checkKey(key);
    const row = this.guard(() => this.sql.get.get(key));
    return row && toEntry<T>(row);
  }

  async list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>> {
    this.begin();
    checkPrefix(prefix);
    const limit = checkLimit(options) ?? -1;
    const end = prefixEnd(prefix);
    const rows = this.guard(() =>
      end === undefined ? this.sql.listFrom.all(prefix, limit) : this.sql.listRange.all(prefix, end, limit),
    );
    return Object.freeze(rows.map((row) => toEntry<T>(row)));
  }

  async apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }> {
    this.begin();
    const prepared = prepareOps(ops);
    const conditions = checkConditions(options?.if);
    const fence = checkFence(options?.fence);
    const revision = this.guard(() => this.applyTxn(prepared, conditions, fence));
    this.watches.pump();
    return { revision };
  }

  async revision(): Promise<number> {
    this.begin();
    return this.guard(() => this.currentRevision());
  }

  async watch<T>(
    prefix: string,
    options: WatchOptions,
    onEvents: (events: ReadonlyArray<StoreEvent<T>>) => void,
  ): Promise<StoreWatch> {
    this.begin();
    const requested = checkWatch(prefix, options, onEvents);
    const [from, firstKept] = this.guard(() => [requested ?? this.currentRevision() + 1, this.firstKept()]);
    if (from < firstKept) throw new StoreCompactedError(from, firstKept);
    return this.watches.add(prefix, from, onEvents as (events: ReadonlyArray<StoreEvent>) => void);
  }

  async compact(revision: number): Promise<void> {
    this.begin();
    this.guard(() =>
      this.db
        .transaction(() => this.compactNow(checkCompactRevision(revision, this.currentRevision())))
        .immediate(),
    );
    this.watches.pump();
  }

  async grantLease(ttlMs: number): Promise<Lease> {
    this.begin();
    const ttl = checkTtl(ttlMs);
    const id = this.guard(() => this.sql.grantLease.run(ttl, this.clock.now() + ttl).lastInsertRowid);
    this.armTimer();
    return makeLease(
      String(id),
      ttl,
      async (lease) => this.keepAlive(lease),
      async (lease) => this.revoke(lease),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer.stop();
    await this.watches.closeAll();
    this.db.close();
  }

  /** Runs inside the transaction; a throw rolls everything back. */
  private applyNow(ops: PreparedOp[], conditions: StoreCondition[], fence: StoreFence | undefined): number {
    enforceConditions(conditions, fence, (key) => {
      const row = this.sql.get.get(key);
      return { revision: row?.revision ?? 0, createRevision: row?.create_revision ?? 0 };
    });
    const now = this.clock.now();
    for (const op of ops)
      if (op.op === 'put' && op.lease !== undefined && !((this.leaseExpiry(op.lease) ?? now) > now))
        throw new StoreLeaseNotFoundError(op.lease);
    return this.commitNow(computeNetEffect(ops));
  }

  /** Inside a transaction: writes the net effect and its change log rows as the next revision. */
  private commitNow(net: NetEffect): number {
    const current = this.currentRevision();
    const events = executeNetEffect(net, current + 1, this.target);
    if (events.length === 0) return current;
    for (const e of events)
      // The change log keeps the text as written: no parse and re-serialization per event.
      this.sql.addChange.run(e.revision, e.key, e.type, e.type === 'put' ? net.puts.get(e.key)!.text : null);
    this.sql.setRevision.run(current + 1);
    if ((current + 1) % PRUNE_EVERY === 0) this.compactNow(current + 2 - this.historyRevisions);
    return current + 1;
  }

  /** Inside a transaction: drops the change log before `revision`. */
  private compactNow(revision: number): void {
    if (revision <= this.firstKept()) return;
    this.sql.pruneChanges.run(revision);
    this.sql.setCompacted.run(revision);
  }

  private keepAlive(id: string): void {
    this.begin();
    const refreshed = this.guard(() => {
      const now = this.clock.now();
      return (this.leaseExpiry(id) ?? now) > now && this.sql.refreshLease.run(now, Number(id)).changes > 0;
    });
    if (!refreshed) throw new StoreLeaseNotFoundError(id);
    this.armTimer();
  }

  private revoke(id: string): void {
    this.begin();
    this.guard(() => this.expireLease(id));
    this.watches.pump();
    this.armTimer();
  }

  /** In its own transaction: deletes the lease and its keys (one revision). */
  private expireLease(id: string): void {
    this.db
      .transaction(() => {
        if (this.leaseExpiry(id) === undefined) return;
        const keys = this.sql.keysOfLease.all(Number(id));
        this.sql.deleteLease.run(Number(id));
        this.commitNow({ puts: new Map(), deletes: keys, prefixes: [] });
      })
      .immediate();
  }

  /** Expires the leases that are due (whichever process granted them), then re-arms the timer. */
  private expireDue(): void {
    const earliest = this.guard(() => this.sql.earliestLease.get() ?? undefined);
    if (earliest !== undefined && earliest <= this.clock.now()) {
      for (const id of this.guard(() => this.sql.leasesDue.all(this.clock.now())))
        this.guard(() => this.expireLease(String(id)));
      this.watches.pump();
      this.armTimer();
    } else this.timer.arm(earliest);
  }

  private expireDueQuietly(): void {
    if (this.closed) return;
    try {
      this.expireDue();
    } catch {
      // busy: the next call or timer retries
      this.timer.arm(this.clock.now() + 100);
    }
  }

  private armTimer(): void {
    this.timer.arm(this.guard(() => this.sql.earliestLease.get() ?? undefined));
  }

  /** The lease's deadline, or undefined when there is no such lease (ids are SQLite row ids). */
  private leaseExpiry(id: string): number | undefined {
    return /^[1-9][0-9]{0,15}$/.test(id) ? this.sql.leaseExpiry.get(Number(id)) : undefined;
  }

  private currentRevision(): number {
    return this.sql.revision.get()?.value ?? 0;
  }

  private firstKept(): number {
    return this.sql.compacted.get()?.value ?? 1;
  }

  private guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY')
        throw new StoreBusyError(this.path, { cause: err });
      throw err;
    }
  }

  /** Every call starts here: the store must be open, and leases that are due expire first. */
  private begin(): void {
    if (this.closed) throw new StoreClosedError();
    this.expireDue();
  }
}

function toEntry<T>(row: KvRow): Readonly<StoreEntry<T>> {
  return Object.freeze({ key: row.key, value: decodeValue<T>(row.value), revision: row.revision });
}
