import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addResources,
  allocateTo,
  containsResources,
  ranges,
  reserve,
  scalar,
  scalarOf,
} from '../../core/resources.js';
import type { Resource } from '../../core/resources.js';
import { capacityOf, usableFor } from './capacity.js';
import { placeInstances } from './place.js';
import type { Candidate, Constraint, ExistingInstance, InstanceRequirement } from './types.js';

const RUNS = 300;

const tenths = (max: number) => fc.integer({ min: 0, max: max * 10 }).map((n) => n / 10);

const portRanges = fc
  .array(
    fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 5 })).map(([b, len]) => ({
      begin: b,
      end: b + len,
    })),
    { maxLength: 3 },
  )
  .filter((list) =>
    list.every((a, i) => list.every((b, j) => i === j || a.end < b.begin || b.end < a.begin)),
  );

/** Offer-like resources: unreserved, optionally some reserved to `web`, all allocated to `web` or not. */
const resourcesArb: fc.Arbitrary<Resource[]> = fc
  .record({
    cpus: tenths(4),
    mem: fc.integer({ min: 0, max: 2048 }),
    reservedCpus: tenths(2),
    ports: portRanges,
    reservedPorts: portRanges,
    allocated: fc.boolean(),
  })
  .map((r) => {
    const list: Resource[] = [scalar('cpus', r.cpus), scalar('mem', r.mem)];
    if (r.ports.length > 0) list.push(ranges('ports', r.ports));
    if (r.reservedCpus > 0) list.push(...reserve([scalar('cpus', r.reservedCpus)], 'web'));
    const reservedPorts = r.reservedPorts.map((x) => ({ begin: x.begin + 100, end: x.end + 100 }));
    if (reservedPorts.length > 0) list.push(...reserve([ranges('ports', reservedPorts)], 'web'));
    return r.allocated ? allocateTo(list, 'web') : list;
  });

const candidateArb = fc.record({
  agent: fc.integer({ min: 0, max: 5 }),
  host: fc.integer({ min: 0, max: 4 }),
  rack: fc.option(fc.constantFrom('r0', 'r1', 'r2'), { nil: undefined }),
  resources: resourcesArb,
});

const constraintArb: fc.Arbitrary<Constraint> = fc.oneof(
  fc.constant<Constraint>({ field: 'hostname', operator: 'UNIQUE' }),
  fc.constant<Constraint>({ field: 'rack', operator: 'UNIQUE' }),
  fc
    .integer({ min: 1, max: 4 })
    .map<Constraint>((n) => ({ field: 'rack', operator: 'MAX_PER', value: String(n) })),
  fc
    .integer({ min: 1, max: 3 })
    .map<Constraint>((n) => ({ field: 'hostname', operator: 'MAX_PER', value: String(n) })),
  fc
    .option(fc.integer({ min: 1, max: 4 }), { nil: undefined })
    .map<Constraint>((n) =>
      n === undefined
        ? { field: 'rack', operator: 'GROUP_BY' }
        : { field: 'rack', operator: 'GROUP_BY', value: String(n) },
    ),
  fc.constant<Constraint>({ field: 'rack', operator: 'CLUSTER' }),
  fc.constant<Constraint>({ field: 'rack', operator: 'LIKE', value: 'r[01]' }),
  fc.constant<Constraint>({ field: 'rack', operator: 'UNLIKE', value: 'r1' }),
);

const scenarioArb = fc
  .record({
    cands: fc.array(candidateArb, { maxLength: 8 }),
    req: fc.record({
      cpus: tenths(2),
      mem: fc.integer({ min: 0, max: 512 }),
      ports: fc.integer({ min: 0, max: 3 }),
      role: fc.constantFrom('*', 'web'),
      constraints: fc.array(constraintArb, { maxLength: 2 }),
    }),
    count: fc.integer({ min: 0, max: 25 }),
    existing: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map(({ cands, req, count, existing }) => {
    const candidates: Candidate[] = cands.map((c, i) => ({
      id: `o${i}`,
      agentId: `a${c.agent}`,
      hostname: `h${c.host}`,
      attributes: (c.rack === undefined ? {} : { rack: c.rack }) as Record<string, string>,
      // Offers of one agent never overlap: each candidate's ports live in their own thousand.
      resources: c.resources.map((x) =>
        x.ranges
          ? {
              ...x,
              ranges: {
                range: x.ranges.range.map((g) => ({ begin: g.begin + i * 1000, end: g.end + i * 1000 })),
              },
            }
          : x,
      ),
    }));
    const requirement: InstanceRequirement = {
      cpus: req.cpus,
      mem: req.mem,
      ports: Array.from({ length: req.ports }, (_, i) => (i === 0 ? { name: 'http' } : {})),
      role: req.role,
      constraints: req.constraints,
    };
    const ex: ExistingInstance[] = candidates.length
      ? existing.map((n) => {
          const c = candidates[n % candidates.length]!;
          return { agentId: c.agentId, hostname: c.hostname, attributes: c.attributes };
        })
      : [];
    return { candidates, req: requirement, count, existing: ex };
  });

const valueOf = (field: string, x: { hostname: string; attributes: Record<string, string> }) =>
  field === 'hostname' ? x.hostname : x.attributes[field];

test('property: a candidate is never over-allocated, and each placement gets exactly what it needs', () => {
  fc.assert(
    fc.property(scenarioArb, ({ candidates, req, count, existing }) => {
      const r = placeInstances(req, count, candidates, existing);
      assert.equal(r.placements.length + r.unplaced, count);
      for (const cand of candidates) {
        const mine = r.placements.filter((p) => p.candidateId === cand.id);
        const taken = mine.reduce<Resource[]>((acc, p) => addResources(acc, p.resources), []);
        assert.ok(containsResources(cand.resources, taken), `over-allocated ${cand.id}`);
        for (const p of mine) {
          assert.equal(scalarOf(p.resources, 'cpus'), req.cpus);
          assert.equal(scalarOf(p.resources, 'mem'), req.mem);
          assert.ok(p.resources.every((x) => usableFor(x, req.role)));
          assert.ok(p.resources.every((x) => x.type !== 'SCALAR' || (x.scalar?.value ?? 0) > 0));
        }
      }
    }),
    { numRuns: RUNS },
  );
});

test('property: UNIQUE is never violated and MAX_PER never exceeded by what is placed', () => {
  fc.assert(
    fc.property(scenarioArb, ({ candidates, req, count, existing }) => {
      const r = placeInstances(req, count, candidates, existing);
      const placed = r.placements.map((p) => candidates.find((c) => c.id === p.candidateId)!);
      for (const k of req.constraints) {
        if (k.operator !== 'UNIQUE' && k.operator !== 'MAX_PER') continue;
        const limit = k.operator === 'UNIQUE' ? 1 : Number(k.value);
        const perValue = new Map<string, { existing: number; placed: number }>();
        const bump = (v: string | undefined, key: 'existing' | 'placed') => {
          if (v === undefined) return;
          const e = perValue.get(v) ?? { existing: 0, placed: 0 };
          e[key]++;
          perValue.set(v, e);
        };
        for (const e of existing) bump(valueOf(k.field, e), 'existing');
        for (const p of placed) {
          assert.notEqual(valueOf(k.field, p), undefined, 'placed on an agent without the attribute');
          bump(valueOf(k.field, p), 'placed');
        }
        for (const [v, n] of perValue)
          if (n.placed > 0)
            assert.ok(n.existing + n.placed <= limit, `${k.operator} ${k.field}=${v}: ${n.placed}`);
      }
    }),
    { numRuns: RUNS },
  );
});

test('property: host ports are distinct per agent, inside the offered ranges, one per request', () => {
  fc.assert(
    fc.property(scenarioArb, ({ candidates, req, count, existing }) => {
      const r = placeInstances(req, count, candidates, existing);
      const perAgent = new Map<string, Set<number>>();
      for (const p of r.placements) {
        assert.equal(p.ports.length, req.ports.length);
        assert.deepEqual(
          p.portNames,
          req.ports.map((x) => x.name),
        );
        const cand = candidates.find((c) => c.id === p.candidateId)!;
        const offered = capacityOf(cand, req.role).ports.flatMap((pool) => pool.ranges);
        const used = perAgent.get(p.agentId) ?? new Set<number>();
        for (const port of p.ports) {
          assert.ok(
            offered.some((x) => x.begin <= port && port <= x.end),
            `port ${port} not offered`,
          );
          assert.ok(!used.has(port), `port ${port} used twice on ${p.agentId}`);
          used.add(port);
        }
        perAgent.set(p.agentId, used);
        const inResources = p.resources
          .filter((x) => x.name === 'ports')
          .flatMap((x) =>
            x.ranges!.range.flatMap((g) =>
              Array.from({ length: g.end - g.begin + 1 }, (_, i) => g.begin + i),
            ),
          );
        assert.deepEqual(
          [...inResources].sort((a, b) => a - b),
          [...p.ports].sort((a, b) => a - b),
        );
      }
    }),
    { numRuns: RUNS },
  );
});

test('property: when instances stay unplaced, every candidate has a reason', () => {
  fc.assert(
    fc.property(scenarioArb, ({ candidates, req, count, existing }) => {
      const r = placeInstances(req, count, candidates, existing);
      assert.equal(r.summary === '', r.unplaced === 0);
      if (r.unplaced === 0) return assert.deepEqual(r.reasons, []);
      if (candidates.length === 0) return assert.equal(r.reasons[0]?.reason, 'no agents offered resources');
      assert.equal(
        r.reasons.reduce((n, x) => n + x.agents, 0),
        candidates.length,
      );
    }),
    { numRuns: RUNS },
  );
});

test('property: the result does not depend on the order of the candidates', () => {
  fc.assert(
    fc.property(scenarioArb, fc.nat(), ({ candidates, req, count, existing }, seed) => {
      const shuffled = [...candidates].sort(
        (a, b) => ((a.id.charCodeAt(1) * 7919 + seed) % 13) - ((b.id.charCodeAt(1) * 7919 + seed) % 13),
      );
      const a = placeInstances(req, count, candidates, existing);
      const b = placeInstances(req, count, shuffled, existing);
      assert.deepEqual(b.placements, a.placements);
      assert.deepEqual(
        new Set(b.reasons.map((x) => JSON.stringify(x))),
        new Set(a.reasons.map((x) => JSON.stringify(x))),
      );
    }),
    { numRuns: RUNS },
  );
});
