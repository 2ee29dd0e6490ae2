import type { StoreEvent, StoreWatch } from './state-store.js';

/**
 * One watcher of an in-process store (memory, sqlite): it takes the events offered to it that are under
 * its prefix and at or after its position, and hands them to `onEvents` in a microtask, in order.
 */
export class QueuedWatch implements StoreWatch {
  readonly ended: Promise<Error | undefined>;
  private settle!: (reason: Error | undefined) => void;
  private pending: StoreEvent[] = [];
  private scheduled = false;
  private done = false;

  constructor(
    readonly prefix: string,
    /** The first revision this watch has not yet seen. */
    public next: number,
    private readonly onEvents: (events: ReadonlyArray<StoreEvent>) => void,
    private readonly onEnd: (watch: QueuedWatch) => void,
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  get closed(): boolean {
    return this.done;
  }

  /** Offers events in revision order; `scannedUpTo` is the newest revision the offer covers. */
  offer(events: ReadonlyArray<StoreEvent>, scannedUpTo: number): void {
    if (this.done) return;
    for (const event of events)
      if (event.revision >= this.next && event.key.startsWith(this.prefix)) this.pending.push(event);
    this.next = Math.max(this.next, scannedUpTo + 1);
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Ends the watch with `error` (e.g. StoreCompactedError). */
  fail(error: Error): void {
    this.finish(error);
  }

  async close(): Promise<void> {
    this.finish(undefined);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.done || this.pending.length === 0) return;
    const batch = Object.freeze(this.pending);
    this.pending = [];
    try {
      this.onEvents(batch);
    } catch (err) {
      this.finish(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private finish(reason: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.pending = [];
    this.onEnd(this);
    this.settle(reason);
  }
}
