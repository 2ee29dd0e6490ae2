/** Helpers shared by the parts of the StateStore conformance suite. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FakeClock } from '../core/clock.js';
import type { StateStore, StoreEvent, StoreOp, StoreWatch, WatchOptions } from './state-store.js';

export interface OpenStoreOptions {
  /** When the implementation honors it (see StoreCapabilities), lease deadlines follow this clock. */
  clock?: FakeClock;
}

/** Must return a new, empty store (for etcd: a fresh namespace). */
export type OpenStore = (options?: OpenStoreOptions) => Promise<StateStore>;

export interface StoreCapabilities {
  /** `open({ clock })` makes lease expiry follow the fake clock; otherwise lease tests wait in real time. */
  fakeClock: boolean;
}

/** How long to wait for something asynchronous (a watch event, an etcd lease expiry). */
export const EVENTUALLY_MS = 15_000;

/** Opens a fresh store, runs `fn`, always closes. */
export async function withStore(open: OpenStore, fn: (store: StateStore) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

export const put = (key: string, value: unknown, lease?: string): StoreOp =>
  lease === undefined ? { op: 'put', key, value } : { op: 'put', key, value, lease };

export async function keysOf(store: StateStore, prefix: string, limit?: number): Promise<string[]> {
  return (await store.list(prefix, limit === undefined ? undefined : { limit })).map((e) => e.key);
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: { code?: string }) => {
    assert.equal(err.code, code);
    return true;
  });
}

/** Polls `check` until it returns true. */
export async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_MS;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface Collector {
  watch: StoreWatch;
  events: StoreEvent[];
  batches: ReadonlyArray<StoreEvent>[];
  /** Waits until an event at `revision` or later has arrived. */
  waitFor(revision: number): Promise<void>;
}

export async function collect(
  store: StateStore,
  prefix: string,
  options: WatchOptions = {},
): Promise<Collector> {
  const events: StoreEvent[] = [];
  const batches: ReadonlyArray<StoreEvent>[] = [];
  const watch = await store.watch(prefix, options, (batch) => {
    batches.push(batch);
    events.push(...batch);
  });
  const waitFor = (revision: number) =>
    eventually(`a watch event at revision ${revision} (have ${JSON.stringify(events)})`, async () =>
      events.some((e) => e.revision >= revision),
    );
  return { watch, events, batches, waitFor };
}

/** Frozen objects throw in strict mode; either way the store must be unchanged afterwards. */
export function tryMutate(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TypeError, `expected a TypeError from a frozen object, got ${String(err)}`);
  }
}

export { sleep };
