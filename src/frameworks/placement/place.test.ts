import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Offer } from '../../api/mesos.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { allocateTo, ranges, reserve, scalar, scalarOf } from '../../core/resources.js';
import type { Resource } from '../../core/resources.js';
import { explainCandidates } from './explain.js';
import { agentCandidate, offerCandidate, placeInstances } from './place.js';
import type { Candidate, Constraint, ExistingInstance, InstanceRequirement } from './types.js';

/** A complete candidate: 8 cpus, 8192 mem, 100000 disk, ports 31000-31009, no attributes. */
function cand(id: string, over: Partial<Candidate> = {}): Candidate {
  return {
    id,
    agentId: over.agentId ?? `agent-${id}`,
    hostname: over.hostname ?? `host-${id}`,
    attributes: over.attributes ?? {},
    resources: over.resources ?? [
      scalar('cpus', 8),
      scalar('mem', 8192),
      scalar('disk', 100000),
      ranges('ports', [{ begin: 31000, end: 31009 }]),
    ],
  };
}

function req(over: Partial<InstanceRequirement> = {}): InstanceRequirement {
  return { cpus: 1, mem: 128, ports: [], role: '*', constraints: [], ...over };
}

const on = (c: Candidate): ExistingInstance => ({
  agentId: c.agentId,
  hostname: c.hostname,
  attributes: c.attributes,
});
const c = (field: string, operator: Constraint['operator'], value?: string): Constraint =>
  value === undefined ? { field, operator } : { field, operator, value };
const ids = (r: { placements: Array<{ candidateId: string }> }): string[] =>
  r.placements.map((p) => p.candidateId);

test('spreads over candidates by fewest instances on the agent, then id, and may stack instances', () => {
  const cands = [cand('b'), cand('a'), cand('c')];
  assert.deepEqual(ids(placeInstances(req(), 5, cands, [])), ['a', 'b', 'c', 'a', 'b']);
  // An agent that already runs an instance comes last.
  assert.deepEqual(ids(placeInstances(req(), 3, cands, [on(cands[1]!)])), ['b', 'c', 'a']);
});

test('takes exactly what is needed, omitting zero scalars, and never over-commits a candidate', () => {
  const small = cand('s', { resources: [scalar('cpus', 2.5), scalar('mem', 1000)] });
  const r = placeInstances(req({ cpus: 1, mem: 300 }), 5, [small], []);
  assert.equal(r.placements.length, 2);
  assert.deepEqual(r.placements[0]!.resources, [scalar('cpus', 1), scalar('mem', 300)]);
  assert.equal(r.unplaced, 3);
  assert.deepEqual(r.reasons, [{ reason: 'lack cpus (need 1, free 0.5)', agents: 1 }]);
  assert.equal(r.summary, '3 of 5 instances unplaced: 1 agent lacks cpus (need 1, free 0.5)');
});

test('fractional scalars add up without drift', () => {
  const r = placeInstances(
    req({ cpus: 0.1, mem: 0 }),
    20,
    [cand('a', { resources: [scalar('cpus', 1)] })],
    [],
  );
  assert.equal(r.placements.length, 10);
  assert.equal(
    scalarOf(
      r.placements.flatMap((p) => p.resources),
      'cpus',
    ),
    1,
  );
});

test('host ports: lowest free first, distinct, in request order, named, as RANGES of the candidate', () => {
  const a = cand('a', {
    resources: [
      scalar('cpus', 8),
      scalar('mem', 8192),
      ranges('ports', [
        { begin: 9000, end: 9001 },
        { begin: 80, end: 80 },
      ]),
    ],
  });
  const r = placeInstances(req({ ports: [{ name: 'http' }, {}] }), 2, [a], []);
  assert.deepEqual(
    r.placements.map((p) => p.ports),
    [[80, 9000]],
  );
  assert.equal(r.placements.length, 1);
  assert.deepEqual(r.placements[0]!.portNames, ['http', undefined]);
  const portRes = r.placements[0]!.resources.find((x) => x.name === 'ports')!;
  assert.deepEqual(portRes.ranges!.range, [
    { begin: 80, end: 80 },
    { begin: 9000, end: 9000 },
  ]);
  assert.deepEqual(r.reasons, [{ reason: 'lack ports (need 2, free 1)', agents: 1 }]);
});

test('consecutive ports merge into one range', () => {
  const r = placeInstances(req({ ports: [{}, {}, {}] }), 1, [cand('a')], []);
  assert.deepEqual(r.placements[0]!.ports, [31000, 31001, 31002]);
  const portRes = r.placements[0]!.resources.find((x) => x.name === 'ports')!;
  assert.deepEqual(portRes.ranges!.range, [{ begin: 31000, end: 31002 }]);
});

test('role: only resources allocatable to the role are used, reserved ones first, their reservation kept', () => {
  const offered: Resource[] = allocateTo(
    [...reserve([scalar('cpus', 1), scalar('mem', 100)], 'web'), scalar('cpus', 4), scalar('mem', 1000)],
    'web',
  );
  const r = placeInstances(
    req({ cpus: 2, mem: 100, role: 'web' }),
    1,
    [cand('a', { resources: offered })],
    [],
  );
  const res = r.placements[0]!.resources;
  assert.equal(res.length, 3);
  assert.deepEqual(res[0], { ...offered[0]!, scalar: { value: 1 } });
  assert.equal(res[0]!.role, 'web');
  assert.equal(res[0]!.reservations?.[0]?.role, 'web');
  assert.equal(res[1]!.role, '*');
  assert.deepEqual(res[1]!.scalar, { value: 1 });
  assert.deepEqual(res[2]!.allocation_info, { role: 'web' });

  // Resources reserved to another role, or allocated to another role, are not usable.
  const other = [...reserve([scalar('cpus', 8), scalar('mem', 8192)], 'db')];
  const none = placeInstances(req({ role: 'web' }), 1, [cand('b', { resources: other })], []);
  assert.deepEqual(none.reasons, [{ reason: 'lack cpus (need 1, free 0)', agents: 1 }]);
  const elsewhere = allocateTo([scalar('cpus', 8), scalar('mem', 8192)], 'batch');
  assert.equal(
    placeInstances(req({ role: 'web' }), 1, [cand('c', { resources: elsewhere })], []).unplaced,
    1,
  );
  // `*` takes whatever is offered.
  assert.equal(placeInstances(req(), 1, [cand('b', { resources: other })], []).placements.length, 1);
});

test('persistent volumes are never taken as plain disk', () => {
  const volume: Resource = {
    ...reserve([scalar('disk', 500)], 'web')[0]!,
    disk: { persistence: { id: 'v1' }, volume: { container_path: 'data', mode: 'RW' } },
  };
  const a = cand('a', { resources: [scalar('cpus', 4), scalar('mem', 4096), volume] });
  const r = placeInstances(req({ disk: 100, role: 'web' }), 1, [a], []);
  assert.deepEqual(r.reasons, [{ reason: 'lack disk (need 100, free 0)', agents: 1 }]);
});

test('UNIQUE hostname: one per host, counting existing instances and offers of the same host', () => {
  const cands = [cand('a', { hostname: 'h1' }), cand('b', { hostname: 'h1' }), cand('c', { hostname: 'h2' })];
  const r = placeInstances(req({ constraints: [c('hostname', 'UNIQUE')] }), 3, cands, []);
  assert.deepEqual(
    r.placements.map((p) => p.hostname),
    ['h1', 'h2'],
  );
  assert.equal(r.summary, '1 of 3 instances unplaced: 3 agents fail UNIQUE hostname');
  const again = placeInstances(req({ constraints: [c('hostname', 'UNIQUE')] }), 1, cands, [on(cands[2]!)]);
  assert.equal(again.placements[0]!.hostname, 'h1');
});

test('MAX_PER, LIKE, UNLIKE, IS, and a missing attribute', () => {
  const cands = ['a', 'b', 'c', 'd'].map((id, i) =>
    cand(id, { attributes: i === 3 ? {} : { rack: `r${i % 2}`, zone: ['east', 'west', 'north'][i]! } }),
  );
  const maxPer = placeInstances(req({ constraints: [c('rack', 'MAX_PER', '2')] }), 9, cands, []);
  assert.equal(maxPer.placements.length, 4);
  assert.deepEqual(maxPer.reasons, [
    { reason: 'fail MAX_PER rack 2', agents: 3 },
    { reason: 'fail MAX_PER rack 2 (no attribute rack)', agents: 1 },
  ]);
  const like = placeInstances(req({ constraints: [c('zone', 'LIKE', 'east|west')] }), 4, cands, []);
  assert.deepEqual(new Set(ids(like)), new Set(['a', 'b']));
  assert.deepEqual(like.reasons, []);
  const partial = placeInstances(req({ constraints: [c('zone', 'LIKE', 'nor')] }), 1, cands, []);
  assert.equal(partial.placements.length, 0, 'LIKE must match the whole value');
  assert.deepEqual(partial.reasons, [
    { reason: 'fail LIKE zone ~ nor', agents: 3 },
    { reason: 'fail LIKE zone ~ nor (no attribute zone)', agents: 1 },
  ]);
  const unlike = placeInstances(req({ constraints: [c('zone', 'UNLIKE', 'east|west')] }), 2, cands, []);
  assert.deepEqual(ids(unlike), ['c', 'd'], 'an agent without the attribute passes UNLIKE');
  const is = placeInstances(req({ constraints: [c('zone', 'IS', 'north')] }), 2, cands, []);
  assert.deepEqual(ids(is), ['c', 'c']);
});

test('CLUSTER with a value, and without one (follows the first instance)', () => {
  const cands = ['a', 'b', 'c'].map((id, i) => cand(id, { attributes: { rack: i === 0 ? 'r0' : 'r1' } }));
  assert.deepEqual(ids(placeInstances(req({ constraints: [c('rack', 'CLUSTER', 'r1')] }), 3, cands, [])), [
    'b',
    'c',
    'b',
  ]);
  const free = placeInstances(req({ constraints: [c('rack', 'CLUSTER')] }), 3, cands, []);
  assert.deepEqual(ids(free), ['a', 'a', 'a']);
  const follow = placeInstances(req({ constraints: [c('rack', 'CLUSTER')] }), 3, cands, [on(cands[2]!)]);
  assert.deepEqual(ids(follow), ['b', 'b', 'c']);
  const full = placeInstances(req({ cpus: 8, constraints: [c('rack', 'CLUSTER')] }), 2, cands, [
    on(cands[0]!),
  ]);
  assert.deepEqual(ids(full), ['a']);
  assert.deepEqual(full.reasons, [
    { reason: 'fail CLUSTER rack = r0', agents: 2 },
    { reason: 'lack cpus (need 8, free 0)', agents: 1 },
  ]);
});

test('GROUP_BY spreads evenly over the values, and waits for the expected number of values', () => {
  // Rack r0 has three agents, r1 and r2 one each; without GROUP_BY spreading by agent would favour r0.
  const racks = ['r0', 'r0', 'r0', 'r1', 'r2'];
  const cands = racks.map((rack, i) => cand(`c${i}`, { attributes: { rack } }));
  const r = placeInstances(req({ constraints: [c('rack', 'GROUP_BY')] }), 9, cands, []);
  const perRack = new Map<string, number>();
  for (const p of r.placements) {
    const rack = cands.find((x) => x.id === p.candidateId)!.attributes.rack!;
    perRack.set(rack, (perRack.get(rack) ?? 0) + 1);
  }
  assert.deepEqual([...perRack.values()], [3, 3, 3]);
  // Expecting 4 racks while only 3 exist: one instance per rack, then it waits for the fourth.
  const waiting = placeInstances(req({ constraints: [c('rack', 'GROUP_BY', '4')] }), 5, cands, []);
  assert.equal(waiting.placements.length, 3);
  assert.deepEqual(waiting.reasons, [{ reason: 'fail GROUP_BY rack 4', agents: 5 }]);
});

test('GROUP_BY counts existing instances', () => {
  const cands = [cand('a', { attributes: { rack: 'r0' } }), cand('b', { attributes: { rack: 'r1' } })];
  const existing = [on(cands[0]!), on(cands[0]!)];
  const r = placeInstances(req({ constraints: [c('rack', 'GROUP_BY')] }), 3, cands, existing);
  assert.deepEqual(ids(r), ['b', 'b', 'a']);
});

test('no candidates, zero count, bad input', () => {
  const none = placeInstances(req(), 2, [], []);
  assert.deepEqual(none.reasons, [{ reason: 'no agents offered resources', agents: 0 }]);
  assert.equal(none.summary, '2 of 2 instances unplaced: no agents offered resources');
  assert.deepEqual(placeInstances(req(), 0, [cand('a')], []), {
    placements: [],
    unplaced: 0,
    reasons: [],
    summary: '',
  });
  assert.throws(() => placeInstances(req({ mem: -1 }), 1, [], []), InvalidArgumentError);
  assert.throws(() => placeInstances(req(), 1.5, [], []), /count: expected a whole number/);
});

test('the summary aggregates reasons with the max free figure across candidates', () => {
  const cands = [
    cand('a', { hostname: 'h1', resources: [scalar('cpus', 4), scalar('mem', 256)] }),
    cand('b', { hostname: 'h2', resources: [scalar('cpus', 4), scalar('mem', 100)] }),
    cand('c', { hostname: 'h3' }),
    cand('d', { hostname: 'h4' }),
  ];
  const existing = [on(cands[2]!), on(cands[3]!)];
  const r = placeInstances(req({ mem: 512, constraints: [c('hostname', 'UNIQUE')] }), 5, cands, existing);
  assert.equal(r.unplaced, 5);
  assert.deepEqual(r.reasons, [
    { reason: 'lack mem (need 512, max free 256)', agents: 2 },
    { reason: 'fail UNIQUE hostname', agents: 2 },
  ]);
  assert.equal(
    r.summary,
    '5 of 5 instances unplaced: 2 agents lack mem (need 512, max free 256), 2 fail UNIQUE hostname',
  );
});

test('inputs are not mutated', () => {
  const cands = [cand('a'), cand('b')];
  const before = JSON.stringify(cands);
  const r = placeInstances(req({ ports: [{}] }), 30, cands, []);
  assert.equal(r.placements.length, 16);
  assert.equal(JSON.stringify(cands), before);
});

test('offerCandidate reads ids, hostname, TEXT and SCALAR attributes, and resources', () => {
  const offer: Offer = {
    id: { value: 'o1' },
    framework_id: { value: 'f' },
    agent_id: { value: 'a1' },
    hostname: 'h1',
    resources: [scalar('cpus', 2)],
    attributes: [
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'weight', type: 'SCALAR', scalar: { value: 3 } },
    ],
  };
  assert.deepEqual(offerCandidate(offer), {
    id: 'o1',
    agentId: 'a1',
    hostname: 'h1',
    attributes: { rack: 'r1', weight: '3' },
    resources: [scalar('cpus', 2)],
  });
  assert.deepEqual(offerCandidate({ ...offer, attributes: undefined }).attributes, {});
});

test('agentCandidate: free = total - used, for dry runs', () => {
  const candidate = agentCandidate({
    id: 'a1',
    hostname: 'h1',
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
    resources: [scalar('cpus', 4), scalar('mem', 1024), ranges('ports', [{ begin: 31000, end: 31009 }])],
    used: allocateTo([scalar('cpus', 1.5), ranges('ports', [{ begin: 31000, end: 31004 }])], 'web'),
  });
  assert.equal(candidate.id, 'a1');
  assert.deepEqual(candidate.attributes, { rack: 'r1' });
  assert.equal(scalarOf(candidate.resources, 'cpus'), 2.5);
  assert.equal(scalarOf(candidate.resources, 'mem'), 1024);
  const r = placeInstances(req({ ports: [{}] }), 1, [candidate], []);
  assert.deepEqual(r.placements[0]!.ports, [31005]);
  assert.deepEqual(
    agentCandidate({ id: 'a2', hostname: 'h2', attributes: { zone: 'a' }, resources: [] }).attributes,
    {
      zone: 'a',
    },
  );
});

test('explainCandidates gives every agent a verdict per constraint and per resource', () => {
  const cands = [
    cand('a', { attributes: { zone: 'east' } }),
    cand('b', { attributes: { zone: 'west' }, resources: [scalar('cpus', 0.5), scalar('mem', 8192)] }),
  ];
  const out = explainCandidates(
    req({ ports: [{}], constraints: [c('hostname', 'UNIQUE'), c('zone', 'IS', 'east')] }),
    cands,
    [on(cands[0]!)],
  );
  assert.deepEqual(out[0], {
    candidateId: 'a',
    agentId: 'agent-a',
    hostname: 'host-a',
    fits: false,
    reason: 'fail UNIQUE hostname',
    checks: [
      { check: 'UNIQUE hostname', ok: false, reason: 'fail UNIQUE hostname' },
      { check: 'IS zone = east', ok: true },
      { check: 'cpus', ok: true },
      { check: 'mem', ok: true },
      { check: 'ports', ok: true },
    ],
  });
  assert.equal(out[1]!.reason, 'fail IS zone = east');
  assert.deepEqual(
    out[1]!.checks.filter((x) => !x.ok).map((x) => x.reason),
    ['fail IS zone = east', 'lack cpus (need 1, free 0.5)', 'lack ports (need 1, free 0)'],
  );
});

test('not quadratic in a silly way: 5,000 instances over 500 candidates, with and without constraints', () => {
  const cands = Array.from({ length: 500 }, (_, i) =>
    cand(`c${String(i).padStart(3, '0')}`, { attributes: { rack: `r${i % 5}` } }),
  );
  for (const constraints of [[], [c('rack', 'GROUP_BY')], [c('hostname', 'MAX_PER', '10')]]) {
    const r = placeInstances(req({ cpus: 0.5, mem: 64, ports: [{}] }), 5000, cands, []);
    assert.equal(r.placements.length, 5000, JSON.stringify(constraints));
    const g = placeInstances(req({ cpus: 0.5, mem: 64, ports: [{}], constraints }), 5000, cands, []);
    assert.equal(g.placements.length, 5000, JSON.stringify(constraints));
  }
});
