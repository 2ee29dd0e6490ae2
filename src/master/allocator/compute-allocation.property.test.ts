/**
 * Property tests of one allocation cycle over random clusters: the invariants hold whatever the
 * agents, frameworks, roles, weights, quotas, reservations and filters are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addResources,
  containsResources,
  equalResources,
  isRoleOrSubrole,
  parseResources,
  reservedRole,
  scalar,
  unallocate,
} from '../../core/resources.js';
import {
  computeAllocation,
  isAllocatable,
  type AllocationDecision,
  type AllocationInput,
  type RoleSettings,
} from './compute-allocation.js';
import { mockAgent, mockFramework, mockInput, type MockFramework } from './fixtures.js';
import { addInto, dominantShare, quantitiesFrom, quantitiesOf, type Quantities } from './quantities.js';

const ROLES = ['a', 'b', 'c', 'a/x'];

const agentArb = fc.record({
  cpus: fc.integer({ min: 0, max: 16_000 }).map((m) => m / 1000),
  mem: fc.integer({ min: 0, max: 256 }).map((m) => m * 64),
  ports: fc.boolean(),
  reservedTo: fc.option(fc.constantFrom(...ROLES), { nil: undefined }),
  reservedCpus: fc.integer({ min: 1, max: 4 }),
  active: fc.boolean(),
  gpus: fc.boolean(),
});

const frameworkArb = fc.record({
  roles: fc.subarray(ROLES, { minLength: 1 }),
  suppressed: fc.subarray(ROLES),
  active: fc.boolean(),
  held: fc.array(fc.tuple(fc.constantFrom(...ROLES), fc.integer({ min: 0, max: 8 })), { maxLength: 3 }),
  gpu: fc.boolean(),
  filters: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...ROLES), fc.boolean()), { maxLength: 3 }),
});

const quotaArb = fc.record({
  guarantee: fc.integer({ min: 0, max: 12 }),
  extra: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  weight: fc.integer({ min: 1, max: 4 }),
});

const scenarioArb = fc.record({
  agents: fc.array(agentArb, { minLength: 1, maxLength: 12 }),
  frameworks: fc.array(frameworkArb, { minLength: 1, maxLength: 8 }),
  quotas: fc.array(fc.tuple(fc.constantFrom(...ROLES), quotaArb), { maxLength: 3 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): { input: AllocationInput; frameworks: MockFramework[] } {
  const agents = s.agents.map((a, i) => {
    const list = [scalar('cpus', a.cpus), scalar('mem', a.mem)];
    if (a.ports) list.push(...parseResources('ports:[31000-31099]'));
    if (a.gpus) list.push(scalar('gpus', 1));
    if (a.reservedTo) list.push(scalar('cpus', a.reservedCpus, a.reservedTo));
    return mockAgent(`a${i}`, addResources(list, []), { active: a.active, gpus: a.gpus });
  });
  const frameworks = s.frameworks.map((f, i) =>
    mockFramework(`f${i}`, f.roles, {
      active: f.active,
      suppressedRoles: f.suppressed,
      capabilities: f.gpu ? ['GPU_RESOURCES'] : [],
      held: Object.fromEntries(f.held.map(([role, cpus]) => [role, `cpus:${cpus};mem:${cpus * 128}`])),
      filters: f.filters.map(([n, role, live]) => {
        const agent = agents[n % agents.length]!;
        return { role, agentId: agent.id, filter: { resources: agent.available, until: live ? 100 : -1 } };
      }),
    }),
  );
  const roles = new Map<string, RoleSettings>();
  for (const [role, q] of s.quotas) {
    const limits: Record<string, number> = q.extra === undefined ? {} : { cpus: q.guarantee + q.extra };
    roles.set(role, {
      weight: q.weight,
      quota: { guarantees: quantitiesFrom({ cpus: q.guarantee }), limits: quantitiesFrom(limits) },
    });
  }
  return { input: mockInput(agents, frameworks, { roles }), frameworks };
}

/** Consumed quota of `role` (its subtree's reservations + unreserved holdings) after the decisions. */
function consumed(
  input: AllocationInput,
  frameworks: MockFramework[],
  decisions: AllocationDecision[],
  role: string,
): Quantities {
  const out: Quantities = new Map();
  for (const [r, q] of input.reserved) if (isRoleOrSubrole(r, role)) addInto(out, q);
  for (const f of frameworks)
    for (const [r, held] of f.allocated) if (isRoleOrSubrole(r, role)) addInto(out, held.unreserved);
  for (const d of decisions) if (isRoleOrSubrole(d.role, role)) addInto(out, quantitiesOf(d.resources, true));
  return out;
}

test('property: never over-allocates, and offers plus what is left are exactly what was free', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const { input } = build(s);
      const { decisions, remaining } = computeAllocation(input);
      for (const agent of input.agents) {
        const offered = decisions
          .filter((d) => d.agentId === agent.id)
          .flatMap((d) => unallocate(d.resources));
        assert.ok(containsResources(agent.available, offered), 'containsResources(agent.available, offered)');
        const left = remaining.get(agent.id) ?? agent.available;
        assert.ok(
          equalResources(addResources(left, offered), agent.available),
          'equalResources(addResources(left, offered), agent.available)',
        );
      }
    }),
  );
});

test('property: offers respect roles, reservations, suppression, activity, capabilities, filters, minimum', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const { input, frameworks } = build(s);
      const agents = new Map([...input.agents].map((a) => [a.id, a]));
      for (const d of computeAllocation(input).decisions) {
        const f = frameworks.find((x) => x.id === d.frameworkId)!;
        const agent = agents.get(d.agentId)!;
        assert.ok(
          f.active && f.roles.includes(d.role) && !f.suppressedRoles.has(d.role),
          'f.active && f.roles.includes(d.role) && !f.suppressedRoles.has(d.role)',
        );
        assert.ok(agent.active, 'agent.active');
        assert.ok(
          !agent.gpus || f.capabilities.has('GPU_RESOURCES'),
          '!agent.gpus || f.capabilities.has("GPU_RESOURCES")',
        );
        for (const r of d.resources) {
          assert.equal(r.allocation_info?.role, d.role);
          const reserved = reservedRole(r);
          assert.ok(
            reserved === '*' || isRoleOrSubrole(d.role, reserved),
            'reserved resources go to their role',
          );
        }
        const plain = unallocate(d.resources);
        assert.ok(isAllocatable(plain), 'isAllocatable(plain)');
        for (const filter of f.filters.get(d.role)?.get(d.agentId) ?? [])
          assert.ok(filter.until <= input.now || !containsResources(filter.resources, plain), 'filters hold');
      }
    }),
  );
});

test('property: limits are never exceeded', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const { input, frameworks } = build(s);
      const { decisions } = computeAllocation(input);
      for (const [role, settings] of input.roles) {
        const limit = settings.quota?.limits.get('cpus');
        if (limit === undefined) continue;
        const before = consumed(input, frameworks, [], role).get('cpus') ?? 0;
        const after = consumed(input, frameworks, decisions, role).get('cpus') ?? 0;
        assert.ok(after <= Math.max(limit, before), `role ${role}: ${after} > limit ${limit}`);
      }
    }),
  );
});

test('property: guarantees are met when the cluster has enough free', () => {
  const simple = scenarioArb.map((s) => ({
    agents: s.agents.map((a) => ({
      ...a,
      cpus: Math.round(a.cpus),
      reservedTo: undefined,
      active: true,
      gpus: false,
    })),
    frameworks: s.frameworks.map((f) => ({ ...f, active: true, suppressed: [], filters: [], gpu: false })),
    quotas: s.quotas.filter(([role]) => role !== 'a/x'),
  }));
  fc.assert(
    fc.property(simple, (s) => {
      const { input, frameworks } = build(s);
      const free: Quantities = new Map();
      for (const a of input.agents) addInto(free, quantitiesOf(a.available));
      let needed = 0;
      for (const [role, settings] of input.roles) {
        const g = settings.quota?.guarantees.get('cpus') ?? 0;
        needed += Math.max(0, g - (consumed(input, frameworks, [], role).get('cpus') ?? 0));
      }
      const served = new Set(frameworks.flatMap((f) => f.roles));
      fc.pre(needed <= (free.get('cpus') ?? 0) && [...input.roles.keys()].every((r) => served.has(r)));
      const { decisions } = computeAllocation(input);
      for (const [role, settings] of input.roles) {
        const g = settings.quota?.guarantees.get('cpus') ?? 0;
        assert.ok(
          (consumed(input, frameworks, decisions, role).get('cpus') ?? 0) >= g,
          `role ${role} below guarantee`,
        );
      }
    }),
  );
});

test('property: DRF order — each offer goes to the role, then framework, with the smallest weighted share', () => {
  const flat = fc.record({
    agents: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 15 }),
    frameworks: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 6 })), {
      minLength: 1,
      maxLength: 6,
    }),
    weights: fc.tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
    ),
  });
  fc.assert(
    fc.property(flat, (s) => {
      const agents = s.agents.map((cpus, i) => mockAgent(`a${i}`, `cpus:${cpus};mem:${cpus * 256}`));
      const frameworks = s.frameworks.map(([role, cpus], i) =>
        mockFramework(`f${i}`, role, { held: cpus > 0 ? { [role]: `cpus:${cpus}` } : {} }),
      );
      const weights = new Map(['a', 'b', 'c'].map((r, i) => [r, s.weights[i]!]));
      const input = mockInput(agents, frameworks, {
        roles: new Map([...weights].map(([r, weight]) => [r, { weight }])),
      });
      const fwHeld = new Map(frameworks.map((f) => [f.id, new Map(f.allocated.get(f.roles[0]!)?.all ?? [])]));
      const roleHeld = new Map<string, Quantities>();
      for (const f of frameworks)
        roleHeld.set(f.roles[0]!, addInto(roleHeld.get(f.roles[0]!) ?? new Map(), fwHeld.get(f.id)!));
      const key = (share: number, id: string) => [share, id] as const;
      const less = (x: readonly [number, string], y: readonly [number, string]) =>
        x[0] < y[0] || (x[0] === y[0] && x[1] <= y[1]);
      for (const d of computeAllocation(input).decisions) {
        const mine = key(dominantShare(roleHeld.get(d.role)!, input.totals, weights.get(d.role)), d.role);
        for (const [role, held] of roleHeld)
          assert.ok(
            less(mine, key(dominantShare(held, input.totals, weights.get(role)), role)),
            'less(mine, key(dominantShare(held, input.totals, weights.get(role))...',
          );
        const f = key(dominantShare(fwHeld.get(d.frameworkId)!, input.totals), d.frameworkId);
        for (const other of frameworks.filter((x) => x.roles[0] === d.role))
          assert.ok(
            less(f, key(dominantShare(fwHeld.get(other.id)!, input.totals), other.id)),
            'less(f, key(dominantShare(fwHeld.get(other.id)!, input.totals), oth...',
          );
        const q = quantitiesOf(d.resources);
        addInto(roleHeld.get(d.role)!, q);
        addInto(fwHeld.get(d.frameworkId)!, q);
      }
    }),
  );
});

test('property: weights — filling an empty cluster splits agents in proportion to the weights', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 60 }),
      (w1, w2, n) => {
        const agents = Array.from({ length: n }, (_, i) => mockAgent(`a${i}`, 'cpus:4;mem:4096'));
        const input = mockInput(agents, [mockFramework('f1', 'r1'), mockFramework('f2', 'r2')], {
          roles: new Map([
            ['r1', { weight: w1 }],
            ['r2', { weight: w2 }],
          ]),
        });
        const { decisions } = computeAllocation(input);
        const n1 = decisions.filter((d) => d.role === 'r1').length;
        const n2 = decisions.filter((d) => d.role === 'r2').length;
        assert.equal(n1 + n2, n);
        // The last agent each role got was given while its weighted share was the smaller one.
        if (n1 > 0) assert.ok((n1 - 1) / w1 <= n2 / w2 + 1e-9, '(n1 - 1) / w1 <= n2 / w2 + 1e-9');
        if (n2 > 0) assert.ok((n2 - 1) / w2 <= n1 / w1 + 1e-9, '(n2 - 1) / w2 <= n1 / w1 + 1e-9');
      },
    ),
  );
});

test('property: headroom — what others get never eats into unsatisfied guarantees', () => {
  const flatQuotas = scenarioArb.map((s) => ({ ...s, quotas: s.quotas.filter(([role]) => role !== 'a/x') }));
  fc.assert(
    fc.property(flatQuotas, (s) => {
      const { input, frameworks } = build(s);
      const surplus = (decisions: AllocationDecision[]): number => {
        let free = 0;
        for (const a of input.agents) if (a.active) free += quantitiesOf(a.available, true).get('cpus') ?? 0;
        for (const d of decisions) free -= quantitiesOf(d.resources, true).get('cpus') ?? 0;
        let required = 0;
        for (const [role, settings] of input.roles) {
          const g = settings.quota?.guarantees.get('cpus') ?? 0;
          required += Math.max(0, g - (consumed(input, frameworks, decisions, role).get('cpus') ?? 0));
        }
        return free - required;
      };
      const before = surplus([]);
      assert.ok(surplus(computeAllocation(input).decisions) >= Math.min(0, before), 'headroom was eaten');
    }),
  );
});
