import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import { StoreClosedError, StoreCompactedError, StoreLeaseNotFoundError } from '../errors.js';
import { ExpiryTimer, makeLease } from '../expiry-timer.js';
import { checkKey, checkPrefix, compareKeys } from '../keys.js';
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
import type {
  ApplyOptions,
  Lease,
  ListOptions,
  StateStore,
  StoreEntry,
  StoreEvent,
  StoreOp,
  StoreWatch,
  WatchOptions,
} from '../state-store.js';
import { QueuedWatch } from '../watch-queue.js';
import { lazyEntry } from '../values.js';
import { EventLog } from './event-log.js';
import { MemoryLeases } from './memory-leases.js';

export interface MemoryStoreOptions {
  /** Lease deadlines follow this clock (default: the system clock). */
  clock?: Clock;
  /** How many recent revisions a watch can start from (default 10 000); older history is compacted. */
  historyRevisions?: number;
}

interface Stored {
  entry: Readonly<StoreEntry>;
  createRevision: number;
}

/**
 * The StateStore in memory, for tests and the simulator. Entries are stored frozen (values go through
 * JSON like every other store, so the behaviour matches), and reads hand out the stored objects. Leases
 * expire on a timer on the clock, and every call first expires the leases that are due.
 */
export class MemoryStore implements StateStore {
  private readonly entries = new Map<string, Stored>();
  /**
   * All keys in key order, for prefix scans. New keys wait in `added` and removed ones stay until the
   * next scan, which merges them: inserting into a sorted array one key at a time is O(n) per write,
   * which made a store of 100k keys crawl.
   */
  private sorted: string[] = [];
  private readonly added = new Set<string>();
  private removedSinceScan = 0;
  private current = 0;
  private closed = false;
  private readonly clock: Clock;
  private readonly historyRevisions: number;
  private readonly log = new EventLog();
  private readonly watches = new Set<QueuedWatch>();
  private readonly leases = new MemoryLeases();
  private readonly timer: ExpiryTimer;
  private readonly target: NetEffectTarget = {
    keysUnder: (prefix) => this.keysUnder(prefix),
    createRevisionOf: (key) => this.entries.get(key)?.createRevision,
    remove: (key) => this.remove(key),
    write: ({ key, text, revision, createRevision, lease }) => {
      if (!this.entries.has(key)) this.added.add(key);
      // The value is parsed on its first read: checkpoints that are never read back cost only the JSON.
      this.entries.set(key, { entry: lazyEntry(key, revision, text), createRevision });
      this.leases.attach(key, lease);
    },
  };

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.historyRevisions = Math.max(1, options.historyRevisions ?? 10_000);
    this.timer = new ExpiryTimer(this.clock, () => this.expireDue());
  }

  async get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined> {
    this.begin();
    checkKey(key);
    return this.entries.get(key)?.entry as Readonly<StoreEntry<T>> | undefined;
  }

  async list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>> {
    this.begin();
    checkPrefix(prefix);
    const limit = checkLimit(options) ?? Infinity;
    const out: Readonly<StoreEntry<T>>[] = [];
    this.settleKeys();
    for (let i = this.lowerBound(prefix); i < this.sorted.length && out.length < limit; i++) {
      const key = this.sorted[i] as string;
      if (!key.startsWith(prefix)) break;
      out.push(this.entries.get(key)?.entry as Readonly<StoreEntry<T>>);
    }
    return out;
  }

  async apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }> {
    this.begin();
    const prepared = prepareOps(ops);
    const conditions = checkConditions(options?.if);
    const fence = checkFence(options?.fence);
    enforceConditions(conditions, fence, (key) => {
      const stored = this.entries.get(key);
      return { revision: stored?.entry.revision ?? 0, createRevision: stored?.createRevision ?? 0 };
    });
    for (const op of prepared)
      if (op.op === 'put' && op.lease !== undefined && !this.leases.has(op.lease))
        throw new StoreLeaseNotFoundError(op.lease);
    return { revision: this.commit(computeNetEffect(prepared)) };
  }

  async revision(): Promise<number> {
    this.begin();
    return this.current;
  }

  async watch<T>(
    prefix: string,
    options: WatchOptions,
    onEvents: (events: ReadonlyArray<StoreEvent<T>>) => void,
  ): Promise<StoreWatch> {
    this.begin();
    const from = checkWatch(prefix, options, onEvents) ?? this.current + 1;
    if (from < this.log.firstKept) throw new StoreCompactedError(from, this.log.firstKept);
    const deliver = onEvents as (events: ReadonlyArray<StoreEvent>) => void;
    const watch = new QueuedWatch(prefix, from, deliver, (w) => this.watches.delete(w));
    this.watches.add(watch);
    watch.offer(this.log.since(from), this.current);
    return watch;
  }

  async compact(revision: number): Promise<void> {
    this.begin();
    this.log.compact(checkCompactRevision(revision, this.current));
  }

  async grantLease(ttlMs: number): Promise<Lease> {
    this.begin();
    const ttl = checkTtl(ttlMs);
    const id = this.leases.grant(ttl, this.clock.now());
    this.timer.arm(this.leases.earliest());
    return makeLease(
      id,
      ttl,
      async (lease) => this.keepAlive(lease),
      async (lease) => {
        this.begin();
        this.expire(lease);
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer.stop();
    for (const watch of [...this.watches]) await watch.close();
  }

  private keepAlive(id: string): void {
    this.begin();
    if (!this.leases.refresh(id, this.clock.now())) throw new StoreLeaseNotFoundError(id);
    this.timer.arm(this.leases.earliest());
  }

  /** Writes the net effect as the next revision, records and publishes its events. */
  private commit(net: NetEffect): number {
    const next = this.current + 1;
    const events = executeNetEffect(net, next, this.target);
    if (events.length === 0) return this.current;
    this.current = next;
    this.log.append(next, events);
    this.log.compact(next - this.historyRevisions + 1);
    for (const watch of this.watches) watch.offer(events, next);
    return next;
  }

  /** Deletes the lease and its keys (one revision). */
  private expire(id: string): void {
    const keys = this.leases.remove(id);
    if (keys && keys.length > 0)
      this.commit({ puts: new Map(), deletes: keys.sort(compareKeys), prefixes: [] });
    this.timer.arm(this.leases.earliest());
  }

  private expireDue(): void {
    if (this.closed) return;
    for (const id of this.leases.due(this.clock.now())) this.expire(id);
    this.timer.arm(this.leases.earliest());
  }

  private keysUnder(prefix: string): string[] {
    const keys: string[] = [];
    this.settleKeys();
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const key = this.sorted[i] as string;
      if (!key.startsWith(prefix)) break;
      keys.push(key);
    }
    return keys;
  }

  private remove(key: string): void {
    if (!this.entries.delete(key)) return;
    if (!this.added.delete(key)) this.removedSinceScan++;
    this.leases.attach(key, undefined);
  }

  /** Brings `sorted` up to date: drops removed keys, merges the added ones in. */
  private settleKeys(): void {
    if (this.added.size === 0 && this.removedSinceScan === 0) return;
    const kept =
      this.removedSinceScan > 0
        ? this.sorted.filter((k) => this.entries.has(k) && !this.added.has(k))
        : this.sorted;
    const fresh = [...this.added].sort(compareKeys);
    const merged: string[] = new Array<string>(kept.length + fresh.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < kept.length || j < fresh.length) {
      const a = kept[i];
      const b = fresh[j];
      if (b === undefined || (a !== undefined && compareKeys(a, b) < 0)) {
        merged[n++] = a!;
        i++;
      } else {
        merged[n++] = b;
        j++;
      }
    }
    this.sorted = merged;
    this.added.clear();
    this.removedSinceScan = 0;
  }

  /** The index of the first key >= `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Every call starts here: the store must be open, and leases that are due expire first. */
  private begin(): void {
    if (this.closed) throw new StoreClosedError();
    this.expireDue();
  }
}
