/** The watch half of the StateStore conformance suite. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collect, put, rejectsWith, tryMutate, withStore } from './conformance-support.js';
import type { Collector, OpenStore } from './conformance-support.js';
import type { StoreEvent } from './state-store.js';

const putEvent = (key: string, value: unknown, revision: number): StoreEvent => ({
  type: 'put',
  key,
  value,
  revision,
});
const deleteEvent = (key: string, revision: number): StoreEvent => ({ type: 'delete', key, revision });

/** No revision is split across two onEvents calls, and revisions only grow. */
function assertWholeRevisions(c: Collector): void {
  const seen = new Set<number>();
  let last = 0;
  for (const batch of c.batches) {
    const revisions = new Set(batch.map((e) => e.revision));
    for (const r of revisions) assert.ok(!seen.has(r), `revision ${r} was split across calls`);
    for (const e of batch) {
      assert.ok(e.revision >= last, `revision ${e.revision} after ${last}`);
      last = e.revision;
    }
    for (const r of revisions) seen.add(r);
  }
}

export function registerWatch(open: OpenStore): void {
  test('watch: every change under the prefix, once, in revision order, by key within a revision', () =>
    withStore(open, async (s) => {
      await s.apply([put('w/x', 0)]);
      const c = await collect(s, 'w/');
      const r1 = await s.apply([put('w/b', 1), put('w/a', 1), put('other', 1)]);
      const r2 = await s.apply([{ op: 'delete', key: 'w/a' }]);
      const r3 = await s.apply([put('w/c', 3), { op: 'deletePrefix', prefix: 'w/' }, put('w/d', 4)]);
      await s.apply([put('wx', 1), { op: 'delete', key: 'w/missing' }]);
      const r5 = await s.apply([put('w/a', { n: 5 })]);
      await c.waitFor(r5.revision);
      assert.deepEqual(c.events, [
        putEvent('w/a', 1, r1.revision),
        putEvent('w/b', 1, r1.revision),
        deleteEvent('w/a', r2.revision),
        deleteEvent('w/b', r3.revision),
        putEvent('w/d', 4, r3.revision),
        deleteEvent('w/x', r3.revision),
        putEvent('w/a', { n: 5 }, r5.revision),
      ]);
      assertWholeRevisions(c);
      const last = c.events.at(-1) as StoreEvent & { value: { n: number } };
      tryMutate(() => (last.value.n = 6));
      tryMutate(() => ((last as { key: string }).key = 'x'));
      assert.deepEqual((await s.get('w/a'))?.value, { n: 5 });
    }));

  test('watch from a revision replays history (inclusive), then continues live, without duplicates', () =>
    withStore(open, async (s) => {
      const r1 = await s.apply([put('h/1', 1)]);
      const r2 = await s.apply([put('h/2', 2)]);
      const r3 = await s.apply([{ op: 'delete', key: 'h/1' }]);
      assert.ok(r1.revision < r2.revision);
      const c = await collect(s, 'h/', { fromRevision: r2.revision });
      const r4 = await s.apply([put('h/3', 3)]);
      await c.waitFor(r4.revision);
      const expected = [
        putEvent('h/2', 2, r2.revision),
        deleteEvent('h/1', r3.revision),
        putEvent('h/3', 3, r4.revision),
      ];
      assert.deepEqual(c.events, expected);
      // list, then watch from the listed revision + 1: nothing missed, nothing twice
      const listed = await s.revision();
      const next = await collect(s, 'h/', { fromRevision: listed + 1 });
      const r5 = await s.apply([put('h/4', 4)]);
      await next.waitFor(r5.revision);
      await c.waitFor(r5.revision);
      assert.deepEqual(next.events, [putEvent('h/4', 4, r5.revision)]);
      assert.deepEqual(c.events, [...expected, putEvent('h/4', 4, r5.revision)]);
      assertWholeRevisions(c);
    }));

  test('watch from a future revision waits for it', () =>
    withStore(open, async (s) => {
      const now = await s.revision();
      const c = await collect(s, 'f/', { fromRevision: now + 2 });
      const r1 = await s.apply([put('f/1', 1)]);
      const r2 = await s.apply([put('f/2', 2)]);
      assert.equal(r1.revision, now + 1, 'no other writer in this test');
      await c.waitFor(r2.revision);
      assert.deepEqual(c.events, [putEvent('f/2', 2, now + 2)]);
    }));

  test('watch respects prefix boundaries ("a/" vs "a" vs "ab"); "" watches everything', () =>
    withStore(open, async (s) => {
      const slash = await collect(s, 'a/');
      const all = await collect(s, '');
      const r1 = await s.apply(['a', 'a/', 'a/b', 'ab', 'a0', 'b', 'a/\u{1F600}'].map((k) => put(k, k)));
      const r2 = await s.apply([{ op: 'deletePrefix', prefix: 'a' }]);
      await slash.waitFor(r2.revision);
      await all.waitFor(r2.revision);
      assert.deepEqual(
        slash.events.map((e) => `${e.type} ${e.key}`),
        ['put a/', 'put a/b', 'put a/\u{1F600}', 'delete a/', 'delete a/b', 'delete a/\u{1F600}'],
      );
      assert.equal(all.events.filter((e) => e.revision === r1.revision).length, 7);
      assert.deepEqual(
        all.events.filter((e) => e.revision === r2.revision).map((e) => e.key),
        ['a', 'a/', 'a/b', 'a/\u{1F600}', 'a0', 'ab'],
      );
    }));

  test('close stops delivery and settles `ended`; closing the store ends its watches', async () => {
    const s = await open();
    try {
      const closed = await collect(s, 'c/');
      const open1 = await collect(s, 'c/');
      const r1 = await s.apply([put('c/1', 1)]);
      await closed.waitFor(r1.revision);
      await closed.watch.close();
      await closed.watch.close();
      assert.equal(await closed.watch.ended, undefined);
      const r2 = await s.apply([put('c/2', 2)]);
      await open1.waitFor(r2.revision);
      assert.deepEqual(
        closed.events.map((e) => e.key),
        ['c/1'],
      );
      await s.close();
      assert.equal(await open1.watch.ended, undefined);
    } finally {
      await s.close();
    }
  });

  test('an onEvents that throws ends its watch with that error', () =>
    withStore(open, async (s) => {
      const boom = new Error('boom');
      const watch = await s.watch('t/', {}, () => {
        throw boom;
      });
      await s.apply([put('t/1', 1)]);
      assert.equal(await watch.ended, boom);
    }));

  test('compaction: watching from before it fails with ERR_STORE_COMPACTED; later revisions still work', () =>
    withStore(open, async (s) => {
      const r1 = await s.apply([put('k/1', 1)]);
      await s.apply([put('k/2', 2)]);
      const r3 = await s.apply([put('k/3', 3)]);
      await s.compact(r3.revision);
      await s.compact(r1.revision);
      await rejectsWith(
        s.watch('k/', { fromRevision: r1.revision }, () => undefined),
        'ERR_STORE_COMPACTED',
      );
      const c = await collect(s, 'k/', { fromRevision: r3.revision + 1 });
      const r4 = await s.apply([put('k/4', 4)]);
      await c.waitFor(r4.revision);
      assert.deepEqual(c.events, [putEvent('k/4', 4, r4.revision)]);
      await rejectsWith(s.compact(r4.revision + 1000), 'ERR_INVALID_ARGUMENT');
      assert.deepEqual((await s.list('k/')).length, 4);
    }));

  test('invalid watch arguments are rejected', () =>
    withStore(open, async (s) => {
      for (const fromRevision of [0, -1, 1.5, Number.NaN])
        await rejectsWith(
          s.watch('', { fromRevision }, () => undefined),
          'ERR_INVALID_ARGUMENT',
        );
      await rejectsWith(
        s.watch('a\0', {}, () => undefined),
        'ERR_INVALID_KEY',
      );
    }));
}
