/**
 * The StateStore a leader's term writes through: every `apply` carries the term's fence (the leader key's
 * create revision), so once the lease is gone — expired, revoked, or the key re-created by another
 * master — every write of the old term fails with StoreConflictError and writes nothing. Reads, watches
 * and leases pass through. Closing it does not close the store underneath (the process keeps that).
 */
import {
  StoreConflictError,
  type ApplyOptions,
  type Lease,
  type ListOptions,
  type StateStore,
  type StoreEntry,
  type StoreEvent,
  type StoreFence,
  type StoreOp,
  type StoreWatch,
  type WatchOptions,
} from '../store/index.js';

export class FencedStore implements StateStore {
  constructor(
    private readonly inner: StateStore,
    readonly fence: StoreFence,
    /** Called when a write was refused because of the fence: the term is over. */
    private readonly onFenced: () => void = () => undefined,
  ) {}

  get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined> {
    return this.inner.get<T>(key);
  }

  list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>> {
    return this.inner.list<T>(prefix, options);
  }

  async apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }> {
    try {
      return await this.inner.apply(ops, { ...options, fence: this.fence });
    } catch (err) {
      if (err instanceof StoreConflictError && err.failed.some((f) => f.fence === true)) this.onFenced();
      throw err;
    }
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  watch<T>(
    prefix: string,
    options: WatchOptions,
    onEvents: (events: ReadonlyArray<StoreEvent<T>>) => void,
  ): Promise<StoreWatch> {
    return this.inner.watch(prefix, options, onEvents);
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  grantLease(ttlMs: number): Promise<Lease> {
    return this.inner.grantLease(ttlMs);
  }

  async close(): Promise<void> {
    // The process's store outlives each term.
  }
}
