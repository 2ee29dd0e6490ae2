import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3, IEvent, IWatchResponse, Watcher } from 'etcd3';
import type { StoreEvent, StoreWatch } from '../state-store.js';
import { decodeValue } from '../values.js';
import { prefixRange } from './etcd-txn.js';

const CANCEL_WAIT_MS = 2000;

export interface EtcdWatchContext {
  client: Etcd3;
  namespace: string;
  /** Turns a watch failure into the store's error (StoreCompactedError when history is gone). */
  classify(err: unknown, resumeRevision: number): Promise<Error>;
  onEnd(watch: EtcdWatch): void;
}

/**
 * One etcd watch on a key range. etcd3 re-creates watches after a disconnect, but resumes from the
 * revision in the last response HEADER — which, for a watch still catching up on history, is past events
 * not yet received. So this tracks the last revision it DELIVERED and, on every disconnect, points the
 * re-created watch at the revision after it; events at or below it are dropped, so none is seen twice.
 * Progress notifications (no events; etcd sends them only to watches that are caught up) move it too.
 */
export class EtcdWatch implements StoreWatch {
  readonly ended: Promise<Error | undefined>;
  private settle!: (reason: Error | undefined) => void;
  private done = false;
  private watcher: Watcher | undefined;

  private constructor(
    private readonly ctx: EtcdWatchContext,
    /** The newest revision whose events have all been delivered. */
    private last: number,
    private readonly onEvents: (events: ReadonlyArray<StoreEvent>) => void,
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  /** Starts watching `prefix` (under the namespace) from revision `from`; resolves once etcd has it. */
  static async open(
    ctx: EtcdWatchContext,
    prefix: string,
    from: number,
    onEvents: (events: ReadonlyArray<StoreEvent>) => void,
  ): Promise<EtcdWatch> {
    const watch = new EtcdWatch(ctx, from - 1, onEvents);
    const { start, end } = prefixRange(ctx.namespace + prefix);
    const watcher = ctx.client.watch().inRange({ start, end }).startRevision(String(from)).watcher();
    watch.watcher = watcher;
    watcher.on('data', (res) => watch.receive(res));
    watcher.on('disconnected', () => (watcher.request.start_revision = String(watch.last + 1)));
    const created = new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => resolve());
      watcher.on('error', (err) => {
        reject(err);
        void watch.failWith(err);
      });
    });
    try {
      await created;
    } catch (err) {
      throw await ctx.classify(err, from);
    }
    return watch;
  }

  /** Delivery stops at once; waiting for etcd to confirm the cancel is capped, as etcd may be down. */
  async close(): Promise<void> {
    if (this.done) return;
    this.finish(undefined);
    const cancelled = this.watcher?.cancel().catch(() => undefined);
    await Promise.race([cancelled, sleep(CANCEL_WAIT_MS, undefined, { ref: false })]);
  }

  private receive(res: IWatchResponse): void {
    if (this.done) return;
    if (res.events.length === 0) {
      this.last = Math.max(this.last, Number(res.header.revision));
      return;
    }
    const events: StoreEvent[] = [];
    for (const ev of res.events) {
      const event = this.toEvent(ev);
      if (event.revision > this.last) events.push(event);
    }
    if (events.length === 0) return;
    this.last = (events.at(-1) as StoreEvent).revision;
    try {
      this.onEvents(Object.freeze(events));
    } catch (err) {
      this.finish(err instanceof Error ? err : new Error(String(err)));
      void this.watcher?.cancel().catch(() => undefined);
    }
  }

  private toEvent(ev: IEvent): StoreEvent {
    const key = ev.kv.key.toString().slice(this.ctx.namespace.length);
    const revision = Number(ev.kv.mod_revision);
    if (ev.type === 'Delete') return Object.freeze({ type: 'delete', key, revision });
    return Object.freeze({ type: 'put', key, value: decodeValue(ev.kv.value.toString()), revision });
  }

  /** etcd cancelled the watch (compaction, permissions): end it with the store's error. */
  private async failWith(err: unknown): Promise<void> {
    if (this.done) return;
    const reason = await this.ctx.classify(err, this.last + 1);
    this.finish(reason);
  }

  private finish(reason: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.ctx.onEnd(this);
    this.settle(reason);
  }
}
