import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createVolume,
  formatResources,
  parseResources,
  reserve,
  scalarOf,
  type Resource,
} from '../../core/resources.js';
import { computeAllocation, type AllocationDecision } from './compute-allocation.js';
import { mockAgent, mockFramework, mockInput } from './fixtures.js';
import { quantitiesFrom } from './quantities.js';

const summary = (decisions: AllocationDecision[]): string[] =>
  decisions.map((d) => `${d.agentId}>${d.frameworkId}(${d.role}) ${formatResources(stripInfo(d.resources))}`);
const stripInfo = (list: Resource[]): Resource[] => list.map(({ allocation_info: _a, ...r }) => r);
const quota = (guarantees: Record<string, number>, limits: Record<string, number> = {}) => ({
  quota: { guarantees: quantitiesFrom(guarantees), limits: quantitiesFrom(limits) },
});

test('each agent goes to the framework with the smallest share; suppressed and filtered ones are skipped', () => {
  const agents = [mockAgent('a1', 'cpus:2;mem:1024'), mockAgent('a2', 'cpus:2;mem:1024')];
  const { decisions } = computeAllocation(
    mockInput(agents, [
      mockFramework('f1', 'r', { held: { r: 'cpus:1' } }),
      mockFramework('f2', 'r'),
      mockFramework('f3', 'r', { suppressedRoles: ['r'] }),
      mockFramework('f4', 'r', { active: false }),
    ]),
  );
  assert.deepEqual(summary(decisions), ['a1>f2(r) cpus:2;mem:1024', 'a2>f1(r) cpus:2;mem:1024']);
  const filter = { resources: parseResources('cpus:2;mem:1024'), until: 10 };
  const filtered = computeAllocation(
    mockInput(agents, [mockFramework('f1', 'r', { filters: [{ role: 'r', agentId: 'a1', filter }] })]),
  );
  assert.deepEqual(
    filtered.decisions.map((d) => d.agentId),
    ['a2'],
  );
});

test('a refuse filter holds only offers that are a subset of the refused resources, until it expires', () => {
  const filter = { resources: parseResources('cpus:1;mem:512'), until: 1000 };
  const f = mockFramework('f', 'r', { filters: [{ role: 'r', agentId: 'a', filter }] });
  const offered = (available: string, now: number): number =>
    computeAllocation(mockInput([mockAgent('a', available)], [f], { now })).decisions.length;
  assert.equal(offered('cpus:1;mem:512', 0), 0);
  assert.equal(offered('cpus:0.5;mem:512', 0), 0);
  assert.equal(offered('cpus:2;mem:512', 0), 1, 'more than was refused is offered again');
  assert.equal(offered('cpus:1;mem:512', 1000), 1, 'an expired filter does not apply');
});

test('the roles of a framework are served separately, each offer carrying allocation_info', () => {
  const { decisions } = computeAllocation(
    mockInput(
      [mockAgent('a1', 'cpus:1;mem:64'), mockAgent('a2', 'cpus:1;mem:64'), mockAgent('a3', 'cpus(x):1')],
      [mockFramework('multi', ['x', 'y'])],
    ),
  );
  assert.deepEqual(summary(decisions), [
    'a1>multi(x) cpus:1;mem:64',
    'a2>multi(y) cpus:1;mem:64',
    'a3>multi(x) cpus(x):1',
  ]);
  for (const d of decisions)
    assert.ok(
      d.resources.every((r) => r.allocation_info?.role === d.role),
      'd.resources.every((r) => r.allocation_info?.role === d.role)',
    );
});

test('static and dynamic reservations go only to their role (and its subroles); volumes too', () => {
  const disk = reserve(parseResources('disk:100'), { type: 'DYNAMIC', role: 'db', principal: 'p' })[0]!;
  const volume = createVolume(disk, { id: 'pg', containerPath: 'data' });
  const agents = [mockAgent('a1', [...parseResources('cpus:4;mem:4096;cpus(db):2'), volume])];
  const { decisions } = computeAllocation(
    mockInput(agents, [
      mockFramework('web', 'web'),
      mockFramework('db', 'db/main', { held: { 'db/main': 'cpus:3' } }),
    ]),
  );
  const byFw = new Map(decisions.map((d) => [d.frameworkId, stripInfo(d.resources)]));
  assert.equal(formatResources(byFw.get('web')!), 'cpus:4;mem:4096');
  assert.equal(formatResources(byFw.get('db')!), 'cpus(db):2;disk(db)[pg:data]:100');
  const alone = computeAllocation(mockInput([mockAgent('a1', 'cpus(db):2')], [mockFramework('web', 'web')]));
  assert.equal(alone.decisions.length, 0);
});

test('weights: with equal holdings the heavier role goes first', () => {
  const { decisions } = computeAllocation(
    mockInput(
      [mockAgent('a1', 'cpus:4;mem:4096')],
      [
        mockFramework('light', 'x', { held: { x: 'cpus:1' } }),
        mockFramework('heavy', 'y', { held: { y: 'cpus:1' } }),
      ],
      { roles: new Map([['y', { weight: 3 }]]) },
    ),
  );
  assert.equal(decisions[0]?.frameworkId, 'heavy');
});

test('hierarchical roles: a subtree competes with its total share', () => {
  const agents = ['a1', 'a2', 'a3'].map((id) => mockAgent(id, 'cpus:1;mem:64'));
  const { decisions } = computeAllocation(
    mockInput(agents, [
      mockFramework('ci', 'eng/ci', { held: { 'eng/ci': 'cpus:2' } }),
      mockFramework('web', 'eng/web'),
      mockFramework('ads', 'ads', { held: { ads: 'cpus:1.5' } }),
    ]),
  );
  // web holds nothing, but eng holds 2 > ads 1.5: ads first; then eng (web inside it), then ads again.
  assert.deepEqual(
    decisions.map((d) => d.frameworkId),
    ['ads', 'web', 'ads'],
  );
});

test('guarantees are served first and capped at the guarantee; headroom is held back from others', () => {
  const agents = ['a1', 'a2', 'a3', 'a4'].map((id) => mockAgent(id, 'cpus:4;mem:4096'));
  const frameworks = [mockFramework('q', 'q', { held: { q: 'cpus:8;mem:8192' } }), mockFramework('o', 'o')];
  const { decisions } = computeAllocation(
    mockInput(agents, frameworks, {
      roles: new Map([['q', quota({ cpus: 10, mem: 10240 }, { cpus: 10, mem: 10240 })]]),
    }),
  );
  const q = decisions.filter((d) => d.frameworkId === 'q').flatMap((d) => d.resources);
  const o = decisions.filter((d) => d.frameworkId === 'o').flatMap((d) => d.resources);
  assert.equal(scalarOf(q, 'cpus'), 2, 'q reaches its guarantee (= its limit) and no more');
  assert.equal(scalarOf(o, 'cpus'), 14);
  // A guaranteed role with no framework subscribed yet still has its headroom kept.
  const idle = computeAllocation(
    mockInput(agents, [mockFramework('o', 'o')], { roles: new Map([['q', quota({ cpus: 6, mem: 1024 })]]) }),
  );
  const offered = idle.decisions.flatMap((d) => d.resources);
  assert.equal(scalarOf(offered, 'cpus'), 10);
  assert.equal(scalarOf(offered, 'mem'), 16384 - 1024);
});

test('limits are never exceeded, by a role or by its ancestor; offers are shrunk to fit', () => {
  const agents = ['a1', 'a2', 'a3'].map((id) => mockAgent(id, 'cpus:4;mem:4096;ports:[1-10]'));
  const run = (role: string, roles: Map<string, ReturnType<typeof quota>>) =>
    computeAllocation(
      mockInput(agents, [mockFramework('f', role, { held: { [role]: 'cpus:1' } })], { roles }),
    ).decisions.flatMap((d) => d.resources);
  const own = run('r', new Map([['r', quota({}, { cpus: 6 })]]));
  assert.equal(scalarOf(own, 'cpus'), 5);
  assert.equal(scalarOf(own, 'mem'), 3 * 4096, 'names without a limit are not limited');
  const nested = run('eng/ci', new Map([['eng', quota({}, { cpus: 2.5 })]]));
  assert.equal(scalarOf(nested, 'cpus'), 1.5);
});

test('no offers from deactivated agents, of GPU agents to frameworks without GPU_RESOURCES, or below the minimum', () => {
  const agents = [
    mockAgent('off', 'cpus:4;mem:4096', { active: false }),
    mockAgent('gpu', 'cpus:4;mem:4096;gpus:1', { gpus: true }),
    mockAgent('tiny', 'cpus:0.005;mem:16'),
  ];
  const plain = computeAllocation(mockInput(agents, [mockFramework('f', 'r')]));
  assert.deepEqual(plain.decisions, []);
  const capable = computeAllocation(
    mockInput(agents, [mockFramework('f', 'r', { capabilities: ['GPU_RESOURCES'] })]),
  );
  assert.deepEqual(
    capable.decisions.map((d) => d.agentId),
    ['gpu'],
  );
  const anything = computeAllocation(mockInput(agents, [mockFramework('f', 'r')], { minAllocatable: [] }));
  assert.deepEqual(
    anything.decisions.map((d) => d.agentId),
    ['tiny'],
  );
});

test('refined reservations go only to RESERVATION_REFINEMENT-capable frameworks', () => {
  const refined = reserve(reserve(parseResources('cpus:2'), 'eng'), 'eng/ci');
  const agents = [mockAgent('a', [...parseResources('cpus:1;mem:64'), ...refined])];
  const old = computeAllocation(mockInput(agents, [mockFramework('f', 'eng/ci')]));
  assert.equal(
    scalarOf(
      old.decisions.flatMap((d) => d.resources),
      'cpus',
    ),
    1,
  );
  const capable = computeAllocation(
    mockInput(agents, [mockFramework('f', 'eng/ci', { capabilities: ['RESERVATION_REFINEMENT'] })]),
  );
  assert.equal(
    scalarOf(
      capable.decisions.flatMap((d) => d.resources),
      'cpus',
    ),
    3,
  );
});

test('the remaining resources plus the offers are exactly what was free', () => {
  const agents = [mockAgent('a', 'cpus:3.333;mem:1000.001;ports:[1-100]')];
  const { decisions, remaining } = computeAllocation(
    mockInput(agents, [mockFramework('f', 'r')], { roles: new Map([['r', quota({}, { cpus: 1.111 })]]) }),
  );
  assert.equal(formatResources(remaining.get('a')!), 'cpus:2.222');
  assert.equal(formatResources(stripInfo(decisions[0]!.resources)), 'ports:[1-100];cpus:1.111;mem:1000.001');
});

test('a role at its limit offers nothing to any of its frameworks, and the next role still gets the agent', () => {
  // `lim` holds its whole cpus limit: only mem would be left for it, below the minimum once mem is gone.
  const frameworks = [
    ...Array.from({ length: 5 }, (_, i) => mockFramework(`l${i}`, 'lim', { held: { lim: 'cpus:1' } })),
    mockFramework('other', 'free', { held: { free: 'cpus:4' } }),
  ];
  const agents = [mockAgent('a1', 'cpus:4'), mockAgent('a2', 'cpus:4;mem:64')];
  const input = mockInput(agents, frameworks, { roles: new Map([['lim', quota({}, { cpus: 5 })]]) });
  const { decisions } = computeAllocation(input);
  assert.deepEqual(summary(decisions), [
    'a1>other(free) cpus:4',
    'a2>l0(lim) mem:64',
    'a2>other(free) cpus:4',
  ]);
});

test('refined reservations are left out only for frameworks without RESERVATION_REFINEMENT', () => {
  const refined = reserve(reserve(parseResources('cpus:2'), 'r'), 'r/x');
  const agents = [mockAgent('a', [...refined, ...parseResources('mem:64')])];
  const plainFirst = computeAllocation(
    mockInput(agents, [
      mockFramework('f1', 'r/x'),
      mockFramework('f2', 'r/x', { capabilities: ['RESERVATION_REFINEMENT'], held: { 'r/x': 'mem:1' } }),
    ]),
  );
  assert.deepEqual(summary(plainFirst.decisions), ['a>f1(r/x) mem:64', 'a>f2(r/x) cpus(r/x):2']);
});

test("agents' kept sums are used only while they are the sums of what is free", () => {
  const names = ['cpus', 'mem'];
  const free = parseResources('cpus:2;mem:1024');
  const sums = (resources: Resource[], cpus: number, mem: number) => {
    const all = [cpus, mem];
    return { resources, all, unreserved: all, refined: false, plain: true };
  };
  const run = (agent: ReturnType<typeof mockAgent>): string[] =>
    summary(computeAllocation(mockInput([agent], [mockFramework('f', 'r')], { names })).decisions);
  // Right sums: the same offer as without them.
  assert.deepEqual(run(mockAgent('a', free, { sums: sums(free, 2000, 1_024_000) })), [
    'a>f(r) cpus:2;mem:1024',
  ]);
  // Sums that claim too little would make the agent look empty, so they must not be used when they are
  // of another list (stale): the cycle reads the resources instead.
  assert.deepEqual(run(mockAgent('a', free, { sums: sums([...free], 0, 0) })), ['a>f(r) cpus:2;mem:1024']);
  // And they are used when current: an agent whose sums say nothing is free of cpus or mem is not offered.
  assert.deepEqual(run(mockAgent('a', free, { sums: sums(free, 0, 0) })), []);
});
