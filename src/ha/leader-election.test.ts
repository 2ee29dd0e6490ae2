import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MemoryStore, StoreConflictError, StoreUnavailableError, type StateStore } from '../store/index.js';
import type { StoreFence } from '../store/index.js';
import { FencedStore } from './fenced-store.js';
import { LeaderElection } from './leader-election.js';
import {
  computeKeepAliveMs,
  computeLeaseDeadline,
  computeRedirect,
  evaluateLeadership,
  isServedLocally,
} from './leadership.js';

describe('leadership decisions', () => {
  test('a leader acts only while the lease is certainly alive at etcd', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1000, max: 60_000 }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 120_000 }),
        (sentAt, ttlMs, margin, receivedAfter, elapsed) => {
          const now = sentAt + elapsed;
          const leading =
            evaluateLeadership({ now, renewedAt: sentAt, ttlMs, safetyMarginMs: margin }) === 'leading';
          const expiresAtEtcd = sentAt + receivedAfter + ttlMs; // etcd counts from when it got the keep-alive
          if (leading) assert.ok(now < expiresAtEtcd - margin + receivedAfter + 1);
          assert.equal(
            leading,
            now < computeLeaseDeadline({ renewedAt: sentAt, ttlMs, safetyMarginMs: margin }),
          );
        },
      ),
    );
  });

  test('keep-alives come three times within the usable lease', () => {
    assert.equal(computeKeepAliveMs(3000, 500), 833);
    assert.equal(computeKeepAliveMs(200, 150), 100);
  });

  test('a standby redirects to the same path on the leader and answers leader and health itself', () => {
    assert.equal(
      computeRedirect('http://b:7070/', '/api/v1/tasks?all=1'),
      'http://b:7070/api/v1/tasks?all=1',
    );
    assert.ok(isServedLocally('/api/v1/leader'));
    assert.ok(isServedLocally('/api/v1/health?x=1'));
    assert.ok(!isServedLocally('/api/v1/scheduler'));
  });
});

interface Node {
  election: LeaderElection;
  fences: StoreFence[];
  deposed: string[];
}

function node(store: StateStore, id: string, ttlMs = 400): Node {
  const n: Node = { fences: [], deposed: [], election: undefined as unknown as LeaderElection };
  n.election = new LeaderElection({
    store,
    self: { id, url: `http://${id}` },
    ttlMs,
    safetyMarginMs: 100,
    onElected: (fence) => n.fences.push(fence),
    onDeposed: (reason) => n.deposed.push(reason),
  });
  return n;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A store whose keep-alives can be made to fail, as when etcd cannot be reached. */
function flakyLeases(inner: StateStore): { store: StateStore; cut: () => void } {
  let cut = false;
  const store = Object.create(inner) as StateStore;
  store.grantLease = async (ttlMs) => {
    const lease = await inner.grantLease(ttlMs);
    return {
      id: lease.id,
      ttlMs: lease.ttlMs,
      revoke: () => (cut ? Promise.reject(new StoreUnavailableError('test')) : lease.revoke()),
      keepAlive: () => (cut ? Promise.reject(new StoreUnavailableError('test')) : lease.keepAlive()),
    };
  };
  return { store, cut: () => (cut = true) };
}

describe('LeaderElection on a store', () => {
  test('exactly one of two masters leads; the other names it', async () => {
    const store = new MemoryStore();
    const a = node(store, 'a');
    const b = node(store, 'b');
    try {
      await a.election.start();
      await b.election.start();
      await until('a leader', () => a.fences.length + b.fences.length === 1);
      await sleep(600); // longer than the TTL: the leader keeps its lease alive
      assert.equal(a.fences.length + b.fences.length, 1);
      const [leader, standby] = a.fences.length === 1 ? [a, b] : [b, a];
      assert.ok(leader.election.isLeader());
      assert.ok(!standby.election.isLeader());
      assert.equal(standby.election.leader?.id, leader.election.self.id);
      assert.deepEqual(leader.deposed, []);
    } finally {
      await a.election.close();
      await b.election.close();
      await store.close();
    }
  });

  test('a leader cut off from the store steps down before its lease ends; its fenced writes fail', async () => {
    const store = new MemoryStore();
    const flaky = flakyLeases(store);
    const a = node(flaky.store, 'a');
    const b = node(store, 'b');
    try {
      await a.election.start();
      await until('a to lead', () => a.fences.length === 1);
      await b.election.start();
      const fenced = new FencedStore(store, a.fences[0]!);
      await fenced.apply([{ op: 'put', key: 'master/x', value: 1 }]);
      flaky.cut();
      await until('a to step down', () => a.deposed.length === 1);
      assert.equal(a.election.isLeader(), false);
      await until('b to lead', () => b.fences.length === 1);
      await assert.rejects(fenced.apply([{ op: 'put', key: 'master/x', value: 2 }]), StoreConflictError);
      assert.equal((await store.get('master/x'))?.value, 1);
      await new FencedStore(store, b.fences[0]!).apply([{ op: 'put', key: 'master/x', value: 3 }]);
      assert.equal((await store.get('master/x'))?.value, 3);
    } finally {
      await a.election.close();
      await b.election.close();
      await store.close();
    }
  });

  test('a resigning leader hands over at once, without waiting for its lease', async () => {
    const store = new MemoryStore();
    const a = node(store, 'a', 5000);
    const b = node(store, 'b', 5000);
    try {
      await a.election.start();
      await until('a to lead', () => a.fences.length === 1);
      await b.election.start();
      await until('b to know a', () => b.election.leader?.id === 'a');
      const started = Date.now();
      await a.election.resign();
      await until('b to lead', () => b.fences.length === 1, 2000);
      assert.ok(Date.now() - started < 2000);
      assert.deepEqual(a.deposed, ['resigned']);
      assert.ok(b.fences[0]!.createRevision > a.fences[0]!.createRevision);
    } finally {
      await a.election.close();
      await b.election.close();
      await store.close();
    }
  });
});
