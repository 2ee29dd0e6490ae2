import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addResources,
  containsResources,
  scalar,
  subtractResources,
  type Resource,
} from '../../core/resources.js';
import { computeAllocation, type AllocationFramework } from './compute-allocation.js';
import { computeShare, sortByDrf } from './sorter/drf.js';

const res = (cpus: number, mem: number): Resource[] => [scalar('cpus', cpus), scalar('mem', mem)];
const fw = (
  id: string,
  role: string,
  allocated: Resource[] = [],
  extra: Partial<AllocationFramework> = {},
): AllocationFramework => ({
  id,
  role,
  allocated,
  suppressed: false,
  filteredAgents: new Set(),
  ...extra,
});

test('the dominant share is the largest fraction over weight', () => {
  assert.equal(computeShare(res(1, 512), res(4, 1024)), 0.5);
  assert.equal(computeShare(res(1, 512), res(4, 1024), 2), 0.25);
});

test('DRF orders the least-served client first, ties by id', () => {
  const totals = res(10, 10000);
  assert.deepEqual(
    sortByDrf(
      [
        { id: 'b', weight: 1, allocated: res(5, 0) },
        { id: 'a', weight: 1, allocated: res(1, 0) },
        { id: 'c', weight: 1, allocated: [] },
      ],
      totals,
    ),
    ['c', 'a', 'b'],
  );
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

test('each agent goes to the framework with the smallest share; suppressed and filtered ones are skipped', () => {
  const agents = [
    { id: 'a1', available: res(2, 1024) },
    { id: 'a2', available: res(2, 1024) },
  ];
  const out = computeAllocation({
    agents,
    frameworks: [fw('f1', 'r', res(1, 0)), fw('f2', 'r'), fw('f3', 'r', [], { suppressed: true })],
    totals: res(4, 2048),
    roleWeights: new Map(),
  });
  assert.deepEqual(
    out.map((d) => [d.agentId, d.frameworkId]),
    [
      ['a1', 'f2'],
      ['a2', 'f1'],
    ],
  );
  const filtered = computeAllocation({
    agents,
    frameworks: [fw('f1', 'r', [], { filteredAgents: new Set(['a1']) })],
    totals: res(4, 2048),
    roleWeights: new Map(),
  });
  assert.deepEqual(
    filtered.map((d) => d.agentId),
    ['a2'],
  );
});

test('property: never offers more than an agent has free, and every offer is allocatable', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ cpus: fc.integer({ min: 0, max: 64 }), mem: fc.integer({ min: 0, max: 65536 }) }),
        { minLength: 1, maxLength: 20 },
      ),
      fc.array(fc.record({ role: fc.constantFrom('a', 'b', 'c'), cpus: fc.integer({ min: 0, max: 8 }) }), {
        minLength: 1,
        maxLength: 10,
      }),
      (agentSpecs, fwSpecs) => {
        const agents = agentSpecs.map((a, i) => ({ id: `a${i}`, available: res(a.cpus, a.mem) }));
        const frameworks = fwSpecs.map((f, i) => fw(`f${i}`, f.role, res(f.cpus, 0)));
        const totals = agents.reduce<Resource[]>((acc, a) => addResources(acc, a.available), []);
        const out = computeAllocation({ agents, frameworks, totals, roleWeights: new Map() });
        const seen = new Set<string>();
        for (const d of out) {
          assert.ok(!seen.has(d.agentId), 'an agent is offered once per cycle');
          seen.add(d.agentId);
          const agent = agents.find((a) => a.id === d.agentId)!;
          assert.ok(containsResources(agent.available, d.resources));
          assert.deepEqual(subtractResources(d.resources, agent.available), []);
        }
      },
    ),
  );
});

test('property: a role with a higher weight is served first when shares are equal', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 10 }), (weight) => {
      const out = computeAllocation({
        agents: [{ id: 'a1', available: res(4, 4096) }],
        frameworks: [fw('light', 'x', res(1, 0)), fw('heavy', 'y', res(1, 0))],
        totals: res(8, 8192),
        roleWeights: new Map([['y', weight]]),
      });
      assert.equal(out[0]?.frameworkId, 'heavy');
    }),
  );
});
