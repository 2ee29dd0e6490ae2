import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scalar, type Resource } from '../../../core/resources.js';
import { dominantShare } from '../quantities.js';
import { computeShare, RoleSorter, SortedClients, sortByDrf, type Client } from './drf.js';

const res = (cpus: number, mem: number): Resource[] => [scalar('cpus', cpus), scalar('mem', mem)];

test('the dominant share is the largest fraction over weight', () => {
  assert.equal(computeShare(res(1, 512), res(4, 1024)), 0.5);
  assert.equal(computeShare(res(1, 512), res(4, 1024), 2), 0.25);
});

test('DRF orders the least-served client first, ties by id', () => {
  const totals = res(10, 10000);
  const clients = [
    { id: 'b', weight: 1, allocated: res(5, 0) },
    { id: 'a', weight: 1, allocated: res(1, 0) },
    { id: 'c', weight: 1, allocated: [] },
  ];
  assert.deepEqual(sortByDrf(clients, totals), ['c', 'a', 'b']);
  assert.deepEqual(
    sortByDrf(
      [
        { id: 'x', weight: 1, allocated: [] },
        { id: 'w', weight: 1, allocated: [] },
      ],
      totals,
    ),
    ['w', 'x'],
  );
});

test('property: incremental updates keep the same order as a full sort', () => {
  const totals = [100_000, 1_000_000];

  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 9 }),
          fc.integer({ min: 0, max: 5 }),
          fc.integer({ min: 0, max: 50 }),
        ),
        { maxLength: 200 },
      ),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 10, maxLength: 10 }),
      (updates, weights) => {
        const sorter = new SortedClients(totals);
        const clients: Client[] = weights.map((weight, i) => ({
          id: `c${i}`,
          weight,
          allocated: [0, 0],
          share: 0,
        }));
        for (const c of clients) sorter.insert(c);
        for (const [i, cpus, mem] of updates) sorter.update(clients[i]!, [cpus * 1000, mem * 1000]);
        const share = (c: Client): number =>
          dominantShare(
            new Map([
              ['cpus', c.allocated[0]!],
              ['mem', c.allocated[1]!],
            ]),
            new Map([
              ['cpus', totals[0]!],
              ['mem', totals[1]!],
            ]),
            c.weight,
          );
        const expected = [...clients]
          .map((c) => ({ id: c.id, share: share(c) }))
          .sort((a, b) => a.share - b.share || (a.id < b.id ? -1 : 1))
          .map((c) => c.id);
        assert.deepEqual(
          sorter.order.map((c) => c.id),
          expected,
        );
      },
    ),
  );
});

test('hierarchical roles: subtrees compete by their total share, then their members', () => {
  const sorter = new RoleSorter([100], (role) => (role === 'eng' ? 2 : 1));
  sorter.addLeaf('eng/ci', [30]);
  sorter.addLeaf('eng/web', [10]);
  sorter.addLeaf('ads', [25]);
  sorter.addLeaf('eng', [5]);
  // eng holds 45 with weight 2 (share 0.225) < ads 0.25; inside eng: itself 5 < web 10 < ci 30.
  assert.deepEqual(sorter.sort(), ['eng', 'eng/web', 'eng/ci', 'ads']);
  sorter.allocate('eng/web', [10]);
  assert.deepEqual(sorter.sort(), ['ads', 'eng', 'eng/web', 'eng/ci']);
});

test('inactive roles count in their parent share but are not yielded', () => {
  const sorter = new RoleSorter([100], () => 1);
  sorter.addLeaf('a/idle', [40], false);
  sorter.addLeaf('a/busy', [1]);
  sorter.addLeaf('b', [30]);
  assert.deepEqual(sorter.sort(), ['b', 'a/busy']);
});
