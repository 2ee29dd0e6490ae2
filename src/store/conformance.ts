/**
 * The StateStore conformance suite: every implementation registers it from its own test file with
 * `runStoreConformance('sqlite', (o) => SqliteStore.open(tmpPath(), o), { fakeClock: true })`. `open`
 * must return a new, empty store; implementations that take a clock use `options.clock` for leases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registerLeases } from './conformance-lease.js';
import { registerModelProperty } from './conformance-model.js';
import { keysOf, put, rejectsWith, tryMutate, withStore } from './conformance-support.js';
import type { OpenStore, StoreCapabilities } from './conformance-support.js';
import { registerWatch } from './conformance-watch.js';
import type { StoreOp } from './state-store.js';

export type { OpenStore, OpenStoreOptions, StoreCapabilities } from './conformance-support.js';
export { withStore } from './conformance-support.js';

export function runStoreConformance(name: string, open: OpenStore, capabilities: StoreCapabilities): void {
  describe(`StateStore conformance: ${name}`, () => {
    registerReadWrite(open);
    registerList(open);
    registerConditions(open);
    registerRevisions(open);
    registerImmutability(open);
    registerValidation(open);
    registerModelProperty(open);
    registerWatch(open);
    registerLeases(open, capabilities);
  });
}

function registerReadWrite(open: OpenStore): void {
  test('put then get returns the value and the write revision; a missing key is undefined', () =>
    withStore(open, async (s) => {
      assert.equal(await s.get('nope'), undefined);
      const { revision } = await s.apply([put('a/1', { n: 1, tags: ['x'] })]);
      assert.deepEqual(await s.get('a/1'), { key: 'a/1', value: { n: 1, tags: ['x'] }, revision });
    }));

  test('values of every JSON type round-trip, normalized as JSON', () =>
    withStore(open, async (s) => {
      const values: unknown[] = [
        null,
        0,
        -1.5,
        'text',
        '',
        true,
        false,
        [],
        {},
        [1, 'two', null, { d: [3] }],
      ];
      await s.apply(values.map((v, i) => put(`v/${i}`, v)));
      for (const [i, v] of values.entries()) assert.deepEqual((await s.get(`v/${i}`))?.value, v);
      await s.apply([put('v/norm', { a: undefined, b: 1, at: new Date(0) })]);
      assert.deepEqual((await s.get('v/norm'))?.value, { b: 1, at: '1970-01-01T00:00:00.000Z' });
    }));

  test('delete removes a key; deleting a missing key changes nothing', () =>
    withStore(open, async (s) => {
      await s.apply([put('k', 1), put('k2', 2)]);
      const { revision } = await s.apply([{ op: 'delete', key: 'k' }]);
      assert.equal(await s.get('k'), undefined);
      assert.equal((await s.get('k2'))?.value, 2);
      assert.deepEqual(await s.apply([{ op: 'delete', key: 'k' }]), { revision });
      assert.equal(await s.revision(), revision);
    }));

  test('ops in one apply take effect in order', () =>
    withStore(open, async (s) => {
      await s.apply([put('p/old', 0), put('p/kept', 0), put('q', 0)]);
      const { revision } = await s.apply([
        put('p/a', 1),
        { op: 'deletePrefix', prefix: 'p/' },
        put('p/b', 2),
        put('p/b', 3),
        put('p/kept', 4),
        { op: 'delete', key: 'q' },
        put('q', 5),
        { op: 'deletePrefix', prefix: 'p/b/' },
      ]);
      assert.deepEqual(await keysOf(s, ''), ['p/b', 'p/kept', 'q']);
      assert.equal((await s.get('p/b'))?.value, 3);
      assert.deepEqual(await s.get('p/kept'), { key: 'p/kept', value: 4, revision });
      assert.deepEqual(await s.get('q'), { key: 'q', value: 5, revision });
    }));

  test('a key created and deleted in the same apply never existed: no new revision', () =>
    withStore(open, async (s) => {
      await s.apply([put('k', 1)]);
      const before = await s.revision();
      const ops: StoreOp[] = [put('tmp', 1), { op: 'delete', key: 'tmp' }, put('t/x', 1)];
      assert.deepEqual(await s.apply([...ops, { op: 'deletePrefix', prefix: 't/' }]), { revision: before });
      assert.deepEqual(await keysOf(s, ''), ['k']);
    }));

  test('calls on a closed store fail with ERR_STORE_CLOSED; close is idempotent', async () => {
    const s = await open();
    await s.close();
    await s.close();
    await rejectsWith(s.get('k'), 'ERR_STORE_CLOSED');
    await rejectsWith(s.apply([put('k', 1)]), 'ERR_STORE_CLOSED');
    await rejectsWith(s.list(''), 'ERR_STORE_CLOSED');
    await rejectsWith(s.revision(), 'ERR_STORE_CLOSED');
    await rejectsWith(
      s.watch('', {}, () => undefined),
      'ERR_STORE_CLOSED',
    );
    await rejectsWith(s.grantLease(5000), 'ERR_STORE_CLOSED');
    await rejectsWith(s.compact(1), 'ERR_STORE_CLOSED');
  });
}

const TREE = ['b', 'a/b', 'ab', 'a', 'a/', 'a/c/d', 'a0', 'a.', 'a/b/c', 'a/b0'];

function registerList(open: OpenStore): void {
  test('list by prefix is ordered and respects prefix boundaries ("a/" vs "a/b" vs "ab")', () =>
    withStore(open, async (s) => {
      await s.apply(TREE.map((k) => put(k, k)));
      assert.deepEqual(await keysOf(s, ''), [
        'a',
        'a.',
        'a/',
        'a/b',
        'a/b/c',
        'a/b0',
        'a/c/d',
        'a0',
        'ab',
        'b',
      ]);
      assert.deepEqual(await keysOf(s, 'a/'), ['a/', 'a/b', 'a/b/c', 'a/b0', 'a/c/d']);
      assert.deepEqual(await keysOf(s, 'a/b'), ['a/b', 'a/b/c', 'a/b0']);
      assert.deepEqual(await keysOf(s, 'a/b/'), ['a/b/c']);
      assert.deepEqual(await keysOf(s, 'ab'), ['ab']);
      assert.deepEqual(await keysOf(s, 'c'), []);
      const entries = await s.list<string>('a/c');
      assert.deepEqual(
        entries.map((e) => e.value),
        ['a/c/d'],
      );
    }));

  test('list limit returns the first entries in key order and rejects non-positive limits', () =>
    withStore(open, async (s) => {
      await s.apply(TREE.map((k) => put(k, k)));
      assert.deepEqual(await keysOf(s, 'a/', 2), ['a/', 'a/b']);
      assert.deepEqual(await keysOf(s, 'ab', 5), ['ab']);
      for (const limit of [0, -1, 1.5, Number.NaN])
        await rejectsWith(s.list('a/', { limit }), 'ERR_INVALID_ARGUMENT');
    }));

  test('keys sort by code point (UTF-8 byte order), also around the surrogate range', () =>
    withStore(open, async (s) => {
      const keys = [
        'u/\u{1F600}',
        'u/\uE000',
        'u/\uD7FF',
        'u/\uFFFF',
        'u/z',
        'u/\u{10FFFF}',
        'u/\u{10FFFF}x',
      ];
      await s.apply(keys.map((k) => put(k, 1)));
      const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(await keysOf(s, 'u/'), byBytes);
      assert.deepEqual(await keysOf(s, 'u/\uD7FF'), ['u/\uD7FF']);
      assert.deepEqual(await keysOf(s, 'u/\u{10FFFF}'), ['u/\u{10FFFF}', 'u/\u{10FFFF}x']);
    }));

  test('deletePrefix removes exactly the keys under the prefix', () =>
    withStore(open, async (s) => {
      await s.apply(TREE.map((k) => put(k, k)));
      await s.apply([{ op: 'deletePrefix', prefix: 'a/b' }]);
      assert.deepEqual(await keysOf(s, ''), ['a', 'a.', 'a/', 'a/c/d', 'a0', 'ab', 'b']);
      await s.apply([{ op: 'deletePrefix', prefix: 'a/' }]);
      assert.deepEqual(await keysOf(s, ''), ['a', 'a.', 'a0', 'ab', 'b']);
      const before = await s.revision();
      assert.deepEqual(await s.apply([{ op: 'deletePrefix', prefix: 'zz' }]), { revision: before });
      await s.apply([{ op: 'deletePrefix', prefix: '' }]);
      assert.deepEqual(await keysOf(s, ''), []);
    }));
}

function registerConditions(open: OpenStore): void {
  test('a failed condition throws a retryable ERR_STORE_CONFLICT and writes nothing', () =>
    withStore(open, async (s) => {
      await s.apply([put('x', 'old')]);
      const before = await s.revision();
      const attempt = s.apply([put('x', 'new'), put('y', 1), { op: 'deletePrefix', prefix: '' }], {
        if: [
          { key: 'x', revision: before },
          { key: 'z', revision: 7 },
        ],
      });
      await assert.rejects(attempt, (err: { code?: string; retryable?: boolean; failed?: unknown }) => {
        assert.equal(err.code, 'ERR_STORE_CONFLICT');
        assert.equal(err.retryable, true);
        assert.deepEqual(err.failed, [{ key: 'z', expected: 7, actual: 0 }]);
        return true;
      });
      assert.deepEqual(await keysOf(s, ''), ['x']);
      assert.equal((await s.get('x'))?.value, 'old');
      assert.equal(await s.revision(), before);
    }));

  test('revision 0 means create-only', () =>
    withStore(open, async (s) => {
      const created = await s.apply([put('lock', 'me')], { if: [{ key: 'lock', revision: 0 }] });
      await rejectsWith(
        s.apply([put('lock', 'you')], { if: [{ key: 'lock', revision: 0 }] }),
        'ERR_STORE_CONFLICT',
      );
      assert.deepEqual(await s.get('lock'), { key: 'lock', value: 'me', revision: created.revision });
      await s.apply([{ op: 'delete', key: 'lock' }], { if: [{ key: 'lock', revision: created.revision }] });
      await s.apply([put('lock', 'you')], { if: [{ key: 'lock', revision: 0 }] });
      assert.equal((await s.get('lock'))?.value, 'you');
    }));

  test('a stale revision conflicts; the current one succeeds', () =>
    withStore(open, async (s) => {
      const first = await s.apply([put('k', 1)]);
      const second = await s.apply([put('k', 2)]);
      await rejectsWith(
        s.apply([put('k', 3)], { if: [{ key: 'k', revision: first.revision }] }),
        'ERR_STORE_CONFLICT',
      );
      assert.equal((await s.get('k'))?.value, 2);
      await s.apply([put('k', 3)], { if: [{ key: 'k', revision: second.revision }] });
      assert.equal((await s.get('k'))?.value, 3);
    }));
}

function registerRevisions(open: OpenStore): void {
  test('revisions increase with every write; all keys of one apply share its revision', () =>
    withStore(open, async (s) => {
      let last = await s.revision();
      for (let i = 0; i < 5; i++) {
        const { revision } = await s.apply([put(`r/${i}`, i), put('r/same', 'same')]);
        assert.ok(revision > last, `revision ${revision} after ${last}`);
        assert.equal(await s.revision(), revision);
        assert.equal((await s.get(`r/${i}`))?.revision, revision);
        assert.equal((await s.get('r/same'))?.revision, revision);
        last = revision;
      }
      assert.equal((await s.get('r/0'))?.revision, (await s.list('r/0'))[0]?.revision);
    }));

  test('an apply that changes nothing keeps the revision', () =>
    withStore(open, async (s) => {
      await s.apply([put('k', 1)]);
      const before = await s.revision();
      assert.deepEqual(await s.apply([]), { revision: before });
      assert.deepEqual(await s.apply([{ op: 'delete', key: 'missing' }]), { revision: before });
      assert.equal(await s.revision(), before);
    }));
}

function registerImmutability(open: OpenStore): void {
  test("neither the caller's input nor returned values can mutate stored state", () =>
    withStore(open, async (s) => {
      const input = { nested: { list: [1, 2] }, n: 1 };
      await s.apply([put('m', input)]);
      input.nested.list.push(3);
      input.n = 99;
      const got = await s.get<{ nested: { list: number[] }; n: number }>('m');
      assert.ok(got);
      tryMutate(() => got.value.nested.list.push(4));
      tryMutate(() => ((got.value as { n: number }).n = 5));
      tryMutate(() => ((got as { revision: number }).revision = 0));
      const listed = await s.list<{ nested: { list: number[] } }>('m');
      tryMutate(() => listed[0]?.value.nested.list.pop());
      tryMutate(() => (listed as unknown as unknown[]).pop());
      assert.deepEqual(await s.get('m'), {
        key: 'm',
        value: { nested: { list: [1, 2] }, n: 1 },
        revision: got.revision,
      });
      assert.equal((await s.list('m')).length, 1);
    }));
}

const BAD_KEYS: unknown[] = ['', 'a\0b', 'lone\uD800', 42, undefined, null];

function registerValidation(open: OpenStore): void {
  test('invalid keys are rejected with ERR_INVALID_KEY and nothing is written', () =>
    withStore(open, async (s) => {
      const before = await s.revision();
      for (const key of BAD_KEYS) {
        await rejectsWith(s.apply([put('ok', 1), put(key as string, 1)]), 'ERR_INVALID_KEY');
        await rejectsWith(s.apply([{ op: 'delete', key: key as string }]), 'ERR_INVALID_KEY');
        await rejectsWith(s.get(key as string), 'ERR_INVALID_KEY');
        await rejectsWith(s.apply([], { if: [{ key: key as string, revision: 0 }] }), 'ERR_INVALID_KEY');
      }
      for (const prefix of ['a\0', 'x\uDC00']) await rejectsWith(s.list(prefix), 'ERR_INVALID_KEY');
      await rejectsWith(s.apply([{ op: 'deletePrefix', prefix: '\0' }]), 'ERR_INVALID_KEY');
      assert.deepEqual(await keysOf(s, ''), []);
      assert.equal(await s.revision(), before);
    }));

  test('values that are not JSON are rejected with ERR_INVALID_STORE_VALUE', () =>
    withStore(open, async (s) => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const value of [undefined, () => 1, 10n, Symbol('s'), cyclic])
        await rejectsWith(s.apply([put('ok', 1), put('bad', value)]), 'ERR_INVALID_STORE_VALUE');
      assert.deepEqual(await keysOf(s, ''), []);
    }));

  test('malformed ops and condition revisions are rejected with ERR_INVALID_ARGUMENT', () =>
    withStore(open, async (s) => {
      await rejectsWith(s.apply([{ op: 'merge', key: 'k' } as unknown as StoreOp]), 'ERR_INVALID_ARGUMENT');
      for (const revision of [-1, 1.5, Number.NaN])
        await rejectsWith(s.apply([put('k', 1)], { if: [{ key: 'k', revision }] }), 'ERR_INVALID_ARGUMENT');
      assert.equal(await s.get('k'), undefined);
    }));
}
