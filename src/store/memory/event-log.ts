import type { StoreEvent } from '../state-store.js';

/** The memory store's history: the events of each retained revision, oldest first. */
export class EventLog {
  private readonly revisions: { revision: number; events: ReadonlyArray<StoreEvent> }[] = [];
  /** Revisions before this one are discarded (compacted). */
  firstKept = 1;

  append(revision: number, events: ReadonlyArray<StoreEvent>): void {
    this.revisions.push({ revision, events });
  }

  /** The events with revision >= `from`, in order; the caller has checked `from >= firstKept`. */
  since(from: number): StoreEvent[] {
    let lo = 0;
    let hi = this.revisions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.revisions[mid]?.revision ?? 0) < from) lo = mid + 1;
      else hi = mid;
    }
    return this.revisions.slice(lo).flatMap((r) => r.events);
  }

  /** Discards the revisions before `revision`. */
  compact(revision: number): void {
    if (revision <= this.firstKept) return;
    this.firstKept = revision;
    let drop = 0;
    while (drop < this.revisions.length && (this.revisions[drop]?.revision ?? 0) < revision) drop++;
    this.revisions.splice(0, drop);
  }
}
