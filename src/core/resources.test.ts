import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addResources,
  allocatableTo,
  containsResources,
  createVolume,
  destroyVolume,
  equalResources,
  formatResources,
  parseAttributes,
  parseResources,
  ranges,
  reserve,
  scalar,
  scalarOf,
  set,
  subtractResources,
  unreserve,
  type Reservation,
  type Resource,
} from './resources.js';

const STACKS: Array<Reservation[] | undefined> = [
  undefined,
  [{ type: 'STATIC', role: 'a' }],
  [{ type: 'DYNAMIC', role: 'a', principal: 'ops' }],
  [
    { type: 'DYNAMIC', role: 'a' },
    { type: 'DYNAMIC', role: 'a/b', labels: { labels: [{ key: 'k', value: 'v' }] } },
  ],
];

const withStack = (r: Resource, stack: Reservation[] | undefined): Resource =>
  stack
    ? reserve([{ ...r, role: '*' }], stack[stack.length - 1]!).map((x) => ({ ...x, reservations: stack }))[0]!
    : r;

const scalarArb = fc
  .record({
    name: fc.constantFrom('cpus', 'mem', 'disk'),
    // Any double, not only three-decimal ones: the algebra must round them the same way everywhere.
    value: fc.oneof(
      fc.integer({ min: 1, max: 100_000 }).map((v) => v / 1000),
      fc.double({ min: 0.001, max: 1e6, noNaN: true }),
    ),
    stack: fc.constantFrom(...STACKS),
  })
  .map(({ name, value, stack }) => withStack(scalar(name, value), stack));
/** Ranges and sets of side 0 and side 1 never overlap (ports on one agent are never held twice). */
const rangesArb = (side = 0): fc.Arbitrary<Resource> =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })), {
      minLength: 1,
      maxLength: 4,
    })
    .map((list) =>
      ranges(
        'ports',
        list.map(([begin, len]) => ({ begin: begin + side * 1000, end: begin + side * 1000 + len })),
      ),
    );
const setArb = (side = 0): fc.Arbitrary<Resource> =>
  fc
    .subarray(side === 0 ? ['x', 'y', 'z'] : ['u', 'v', 'w'], { minLength: 1 })
    .map((items) => set('zones', items));
const volumeArb = fc
  .record({ id: fc.constantFrom('v1', 'v2'), size: fc.integer({ min: 1, max: 100 }) })
  .map(({ id, size }) => createVolume(scalar('disk', size, 'db'), { id, containerPath: 'data' }));
const sideArb = (side: number): fc.Arbitrary<Resource[]> =>
  fc.array(fc.oneof(scalarArb, scalarArb, rangesArb(side), setArb(side), volumeArb), { maxLength: 8 });
const listArb = fc.array(
  fc.oneof(scalarArb, scalarArb, rangesArb(0), rangesArb(1), setArb(0), setArb(1), volumeArb),
  {
    maxLength: 8,
  },
);

test('parses Mesos text: roles, hierarchical roles, ranges, sets; formats it back', () => {
  const r = parseResources(
    'cpus:4;mem:8192;ports:[31000-31005,31010-31020];cpus(ads):2;disk(eng/ci):10;zones:{b,a}',
  );
  assert.equal(scalarOf(r, 'cpus'), 6);
  assert.equal(
    formatResources(r),
    'cpus:4;mem:8192;ports:[31000-31005,31010-31020];cpus(ads):2;disk(eng/ci):10;zones:{a,b}',
  );
  assert.deepEqual(r.find((x) => x.role === 'ads')?.reservations, [{ type: 'STATIC', role: 'ads' }]);
  assert.throws(() => parseResources('cpus=2'), /expected NAME:VALUE/);
  assert.throws(() => parseResources('cpus:-1'), /bad scalar/);
  assert.deepEqual(parseResources('[{"name":"cpus","type":"SCALAR","scalar":{"value":1.5}}]'), [
    scalar('cpus', 1.5),
  ]);
});

test('parses attributes into TEXT and SCALAR', () => {
  assert.deepEqual(parseAttributes('rack:r1;zone:a;weight:3'), [
    { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
    { name: 'zone', type: 'TEXT', text: { value: 'a' } },
    { name: 'weight', type: 'SCALAR', scalar: { value: 3 } },
  ]);
  assert.throws(() => parseAttributes('rack'), /bad attribute/);
});

test('the flat role field still means a static reservation; different reservations never merge', () => {
  const flat: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'r' };
  const explicit = scalar('cpus', 2, 'r');
  assert.deepEqual(addResources([flat], [explicit]), [scalar('cpus', 3, 'r')]);
  const dynamic = reserve([scalar('cpus', 1)], { type: 'DYNAMIC', role: 'r', principal: 'p' });
  assert.equal(addResources([flat], dynamic).length, 2);
  const legacyDynamic: Resource = { ...scalar('cpus', 1), role: 'r', reservation: { principal: 'p' } };
  assert.deepEqual(addResources([legacyDynamic], []), dynamic);
  assert.deepEqual(unreserve(dynamic), [scalar('cpus', 1)]);
});

test('volumes are atomic: different ids never merge and a volume cannot be split', () => {
  const disk = reserve([scalar('disk', 100)], 'db')[0]!;
  const v1 = createVolume(disk, { id: 'v1', containerPath: 'data' });
  const v2 = createVolume(disk, { id: 'v2', containerPath: 'data' });
  assert.equal(addResources([v1], [v2]).length, 2);
  assert.equal(addResources([v1], [v1]).length, 2);
  assert.equal(containsResources([v1], [{ ...v1, scalar: { value: 50 } }]), false);
  assert.deepEqual(subtractResources([v1, v2], [v1]), [v2]);
  assert.deepEqual(destroyVolume(v1), disk);
});

test('allocatableTo: unreserved plus reservations of the role and its ancestors', () => {
  const r = parseResources('cpus:1;cpus(a):2;cpus(a/b):3;cpus(a/c):4;cpus(b):5');
  assert.equal(scalarOf(allocatableTo(r, 'a/b'), 'cpus'), 6);
  assert.equal(scalarOf(allocatableTo(r, 'a/b/x'), 'cpus'), 6);
  assert.equal(scalarOf(allocatableTo(r, 'a'), 'cpus'), 3);
  assert.equal(scalarOf(allocatableTo(r, 'ab'), 'cpus'), 1);
});

test('property: subtract undoes add (ranges and sets are sets: the property needs them disjoint)', () => {
  fc.assert(
    fc.property(sideArb(0), sideArb(1), (a, b) => {
      assert.ok(
        equalResources(subtractResources(addResources(a, b), b), a),
        'equalResources(subtractResources(addResources(a, b), b), a)',
      );
    }),
  );
});

test('property: containment agrees with subtraction', () => {
  fc.assert(
    fc.property(listArb, listArb, (a, b) => {
      assert.ok(containsResources(addResources(a, b), b), 'containsResources(addResources(a, b), b)');
      const roundTrip = equalResources(addResources(subtractResources(a, b), b), a);
      assert.equal(containsResources(a, b), roundTrip);
    }),
  );
});

test('property: add is commutative and associative', () => {
  fc.assert(
    fc.property(listArb, listArb, listArb, (a, b, c) => {
      assert.ok(
        equalResources(addResources(a, b), addResources(b, a)),
        'equalResources(addResources(a, b), addResources(b, a))',
      );
      assert.ok(
        equalResources(addResources(addResources(a, b), c), addResources(a, addResources(b, c))),
        'equalResources(addResources(addResources(a, b), c), addResources(a,...',
      );
    }),
  );
});

test('property: no drift after thousands of random takes and returns', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 999 })), {
        minLength: 2000,
        maxLength: 3000,
      }),
      (ops) => {
        const total = parseResources('cpus:16;mem:65536');
        let free = total;
        const taken: Resource[][] = [];
        for (const [take, milli] of ops) {
          const want = [scalar('cpus', milli / 1000 / 3), scalar('mem', milli / 7)];
          if (take && containsResources(free, want)) {
            free = subtractResources(free, want);
            taken.push(want);
          } else if (!take && taken.length > 0) free = addResources(free, taken.pop()!);
        }
        for (const t of taken) free = addResources(free, t);
        // Exactly the total again (entries may come back in another order once one fell to zero).
        assert.ok(equalResources(free, total), 'free is the total again');
        assert.equal(scalarOf(free, 'cpus'), 16);
        assert.equal(scalarOf(free, 'mem'), 65536);
        for (const r of free) assert.equal(Math.round(r.scalar!.value * 1000), r.scalar!.value * 1000);
      },
    ),
    { numRuns: 20 },
  );
  let x: Resource[] = [];
  for (let i = 0; i < 10_000; i++) x = addResources(x, [scalar('cpus', 0.1)]);
  assert.equal(scalarOf(x, 'cpus'), 1000);
  for (let i = 0; i < 9_999; i++) x = subtractResources(x, [scalar('cpus', 0.1)]);
  assert.equal(scalarOf(x, 'cpus'), 0.1);
});
