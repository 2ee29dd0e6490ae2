import { StoreClosedError } from '../errors.js';
import { checkKey, checkPrefix, compareKeys } from '../keys.js';
import { checkConditions, checkLimit, enforceConditions, prepareOps } from '../ops.js';
import type { PreparedOp } from '../ops.js';
import type { ApplyOptions, ListOptions, StateStore, StoreEntry, StoreOp } from '../state-store.js';
import { decodeValue } from '../values.js';

/**
 * The StateStore in memory, for tests and the simulator. Entries are stored frozen (values go through
 * JSON like every other store, so the behaviour matches), and reads hand out the stored objects.
 */
export class MemoryStore implements StateStore {
  private readonly entries = new Map<string, Readonly<StoreEntry>>();
  /** All keys, kept in key order for prefix scans. */
  private readonly sorted: string[] = [];
  private current = 0;
  private closed = false;

  async get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined> {
    this.checkOpen();
    checkKey(key);
    return this.entries.get(key) as Readonly<StoreEntry<T>> | undefined;
  }

  async list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>> {
    this.checkOpen();
    checkPrefix(prefix);
    const limit = checkLimit(options) ?? Infinity;
    const out: Readonly<StoreEntry<T>>[] = [];
    for (let i = this.lowerBound(prefix); i < this.sorted.length && out.length < limit; i++) {
      const key = this.sorted[i] as string;
      if (!key.startsWith(prefix)) break;
      out.push(this.entries.get(key) as Readonly<StoreEntry<T>>);
    }
    return out;
  }

  async apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }> {
    this.checkOpen();
    const prepared = prepareOps(ops);
    const conditions = checkConditions(options?.if);
    enforceConditions(conditions, (key) => this.entries.get(key)?.revision ?? 0);
    const next = this.current + 1;
    let changed = false;
    for (const op of prepared) changed = this.applyOp(op, next) || changed;
    if (changed) this.current = next;
    return { revision: this.current };
  }

  async revision(): Promise<number> {
    this.checkOpen();
    return this.current;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Returns whether the op wrote something. */
  private applyOp(op: PreparedOp, revision: number): boolean {
    if (op.op === 'put') {
      if (!this.entries.has(op.key)) this.sorted.splice(this.lowerBound(op.key), 0, op.key);
      this.entries.set(op.key, Object.freeze({ key: op.key, value: decodeValue(op.text), revision }));
      return true;
    }
    if (op.op === 'delete') return this.deleteRange(op.key, (k) => k === op.key);
    return this.deleteRange(op.prefix, (k) => k.startsWith(op.prefix));
  }

  /** Deletes the run of keys from `from` on that match; returns whether any went. */
  private deleteRange(from: string, matches: (key: string) => boolean): boolean {
    const start = this.lowerBound(from);
    let end = start;
    while (end < this.sorted.length && matches(this.sorted[end] as string)) end++;
    for (const key of this.sorted.splice(start, end - start)) this.entries.delete(key);
    return end > start;
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

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
