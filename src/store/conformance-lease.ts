/**
 * The lease and fence part of the StateStore conformance suite. Stores that take a clock run the lease
 * tests on a FakeClock; the others (etcd) run them in real time with their smallest TTL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../core/clock.js';
import { collect, eventually, keysOf, put, rejectsWith, sleep } from './conformance-support.js';
import type { OpenStore, StoreCapabilities } from './conformance-support.js';
import type { StateStore } from './state-store.js';

interface Timeline {
  store: StateStore;
  /** Lets `ms` of lease time pass: advances the fake clock, or sleeps. */
  advance(ms: number): Promise<void>;
}

async function withTimeline(
  open: OpenStore,
  capabilities: StoreCapabilities,
  fn: (t: Timeline) => Promise<void>,
): Promise<void> {
  const clock = capabilities.fakeClock ? new FakeClock(1_000_000) : undefined;
  const store = await open(clock ? { clock } : {});
  const advance = async (ms: number) => {
    if (!clock) return sleep(ms);
    clock.advance(ms);
    await sleep(1);
  };
  try {
    await fn({ store, advance });
  } finally {
    await store.close();
  }
}

const gone = (s: StateStore, key: string) => async () => (await s.get(key)) === undefined;

export function registerLeases(open: OpenStore, capabilities: StoreCapabilities): void {
  test('lease expiry deletes its keys in one revisioned delete that watchers see', () =>
    withTimeline(open, capabilities, async ({ store: s, advance }) => {
      const lease = await s.grantLease(1000);
      assert.ok(typeof lease.id === 'string' && lease.id !== '');
      assert.ok(lease.ttlMs >= 1000, `ttl ${lease.ttlMs}`);
      const r1 = await s.apply([put('l/a', 1, lease.id), put('l/b', 2, lease.id), put('l/keep', 3)]);
      const c = await collect(s, 'l/', { fromRevision: r1.revision + 1 });
      await advance(lease.ttlMs / 2);
      assert.equal((await s.get('l/a'))?.value, 1, 'not expired halfway');
      await advance(lease.ttlMs / 2);
      await eventually('the lease keys to be deleted', gone(s, 'l/a'));
      assert.deepEqual(await keysOf(s, 'l/'), ['l/keep']);
      await eventually('both delete events', async () => c.events.length >= 2);
      const at = c.events[0]?.revision ?? 0;
      assert.ok(at > r1.revision);
      assert.deepEqual(c.events, [
        { type: 'delete', key: 'l/a', revision: at },
        { type: 'delete', key: 'l/b', revision: at },
      ]);
      await rejectsWith(lease.keepAlive(), 'ERR_STORE_LEASE_NOT_FOUND');
      await rejectsWith(s.apply([put('l/late', 1, lease.id)]), 'ERR_STORE_LEASE_NOT_FOUND');
      assert.equal(await s.get('l/late'), undefined);
    }));

  test('keepAlive restarts the time to live', () =>
    withTimeline(open, capabilities, async ({ store: s, advance }) => {
      const lease = await s.grantLease(1000);
      await s.apply([put('k/a', 1, lease.id)]);
      await advance(lease.ttlMs * 0.6);
      await lease.keepAlive();
      await advance(lease.ttlMs * 0.6);
      assert.equal((await s.get('k/a'))?.value, 1, 'alive past the first deadline');
      await advance(lease.ttlMs * 0.5);
      await eventually('the key to expire after the extended deadline', gone(s, 'k/a'));
    }));

  test('revoke deletes the keys now and is idempotent; a put without the lease detaches a key', () =>
    withTimeline(open, capabilities, async ({ store: s }) => {
      const lease = await s.grantLease(60_000);
      const other = await s.grantLease(60_000);
      await s.apply([put('r/a', 1, lease.id), put('r/b', 2, lease.id), put('r/c', 3, lease.id)]);
      await s.apply([put('r/c', 'plain'), put('r/d', 4, other.id)]);
      const c = await collect(s, 'r/');
      await lease.revoke();
      assert.deepEqual(await keysOf(s, 'r/'), ['r/c', 'r/d']);
      await lease.revoke();
      const revision = await s.revision();
      await c.waitFor(revision);
      assert.deepEqual(c.events, [
        { type: 'delete', key: 'r/a', revision },
        { type: 'delete', key: 'r/b', revision },
      ]);
      await rejectsWith(s.apply([put('r/e', 1, lease.id)]), 'ERR_STORE_LEASE_NOT_FOUND');
      await rejectsWith(s.apply([put('r/e', 1, '987654321')]), 'ERR_STORE_LEASE_NOT_FOUND');
      assert.equal(await s.get('r/e'), undefined);
      await other.keepAlive();
      assert.equal((await s.get('r/d'))?.value, 4);
      await other.revoke();
    }));

  test('invalid lease arguments are rejected', () =>
    withTimeline(open, capabilities, async ({ store: s }) => {
      for (const ttl of [0, -1, 1.5, Number.NaN])
        await rejectsWith(s.grantLease(ttl), 'ERR_INVALID_ARGUMENT');
      await rejectsWith(s.apply([{ op: 'put', key: 'k', value: 1, lease: '' }]), 'ERR_INVALID_ARGUMENT');
    }));

  registerFence(open);
}

function registerFence(open: OpenStore): void {
  test('a fenced apply holds only while the fence key keeps its create revision', async () => {
    const s = await open();
    try {
      const lease = await s.grantLease(60_000);
      const campaign = { if: [{ key: 'leader', revision: 0 }] };
      const { revision: created } = await s.apply([put('leader', 'me', lease.id)], campaign);
      const fence = { key: 'leader', createRevision: created };
      await s.apply([put('data/1', 1)], { fence });
      await s.apply([put('leader', 'me, again', lease.id)]);
      await s.apply([{ op: 'delete', key: 'leader' }, put('leader', 'replaced', lease.id)]);
      await s.apply([put('data/2', 2)], { fence });
      await s.apply([{ op: 'delete', key: 'leader' }]);
      await rejectsConflict(s.apply([put('data/3', 3)], { fence }), [
        { key: 'leader', expected: created, actual: 0, fence: true },
      ]);
      const { revision: recreated } = await s.apply([put('leader', 'someone else')], campaign);
      const data1 = (await s.get('data/1'))?.revision ?? 0;
      const stale = s.apply([put('data/3', 3)], { fence, if: [{ key: 'data/1', revision: data1 + 1 }] });
      await rejectsConflict(stale, [
        { key: 'data/1', expected: data1 + 1, actual: data1 },
        { key: 'leader', expected: created, actual: recreated, fence: true },
      ]);
      await s.apply([put('data/3', 3)], { fence: { key: 'leader', createRevision: recreated } });
      assert.deepEqual(await keysOf(s, 'data/'), ['data/1', 'data/2', 'data/3']);
      await rejectsWith(s.apply([], { fence: { key: 'leader', createRevision: 0 } }), 'ERR_INVALID_ARGUMENT');
      await lease.revoke();
    } finally {
      await s.close();
    }
  });
}

async function rejectsConflict(promise: Promise<unknown>, failed: unknown[]): Promise<void> {
  await assert.rejects(promise, (err: { code?: string; failed?: unknown }) => {
    assert.equal(err.code, 'ERR_STORE_CONFLICT');
    assert.deepEqual(err.failed, failed);
    return true;
  });
}
