import type { Database as Db } from 'better-sqlite3';
import { StoreCompactedError } from '../errors.js';
import { prefixEnd } from '../keys.js';
import type { StoreEvent } from '../state-store.js';
import { decodeValue } from '../values.js';
import { QueuedWatch } from '../watch-queue.js';
import type { ChangeRow, Statements } from './sqlite-statements.js';

/**
 * The SQLite store's watches. They read the change log: right after every commit of this process, and
 * every `pollIntervalMs` for commits made by other processes on the same file. Each read is one
 * snapshot, so a watch sees every revision up to the snapshot's, once, in order.
 */
export class SqliteWatches {
  private readonly watches = new Set<QueuedWatch>();
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly sql: Statements,
    private readonly pollIntervalMs: number,
    /** Runs a database call, translating SQLITE_BUSY. */
    private readonly guard: <R>(fn: () => R) => R,
  ) {}

  /** Starts a watch at revision `from`; the caller has checked it against the compacted revision. */
  add(prefix: string, from: number, onEvents: (events: ReadonlyArray<StoreEvent>) => void): QueuedWatch {
    const watch = new QueuedWatch(prefix, from, onEvents, (w) => this.remove(w));
    this.watches.add(watch);
    if (!this.poller) {
      this.poller = setInterval(() => this.poll(), this.pollIntervalMs);
      this.poller.unref();
    }
    this.pump();
    return watch;
  }

  /** Hands every watch the changes it has not seen yet. */
  pump(): void {
    if (this.watches.size === 0) return;
    this.guard(() => this.readSnapshot());
  }

  async closeAll(): Promise<void> {
    for (const watch of [...this.watches]) await watch.close();
  }

  private readSnapshot(): void {
    this.db
      .transaction(() => {
        const current = this.sql.revision.get()?.value ?? 0;
        const firstKept = this.sql.compacted.get()?.value ?? 1;
        for (const watch of this.watches) {
          if (watch.next > current) continue;
          if (watch.next < firstKept) {
            watch.fail(new StoreCompactedError(watch.next, firstKept));
            continue;
          }
          const end = prefixEnd(watch.prefix);
          const rows =
            end === undefined
              ? this.sql.changesFrom.all(watch.next, watch.prefix)
              : this.sql.changesRange.all(watch.next, watch.prefix, end);
          watch.offer(rows.map(toEvent), current);
        }
      })
      .deferred();
  }

  /** A failed poll (e.g. the file is busy) is retried at the next tick. */
  private poll(): void {
    try {
      this.pump();
    } catch {
      // busy or transient: the next poll reads from the same position
    }
  }

  private remove(watch: QueuedWatch): void {
    this.watches.delete(watch);
    if (this.watches.size === 0 && this.poller) {
      clearInterval(this.poller);
      this.poller = undefined;
    }
  }
}

function toEvent(row: ChangeRow): StoreEvent {
  const { revision, key } = row;
  if (row.op === 'delete' || row.value === null) return Object.freeze({ type: 'delete', key, revision });
  return Object.freeze({ type: 'put', key, value: decodeValue(row.value), revision });
}
