import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../core/clock.js';
import {
  createVolume,
  formatResources,
  parseResources,
  reserve,
  scalarOf,
  subtractResources,
  unallocate,
  type Resource,
} from '../../core/resources.js';
import { Allocator, type AllocatorOptions } from './allocator.js';

interface Offered {
  frameworkId: string;
  agentId: string;
  resources: Resource[];
  role: string;
}

/** An allocator with a fake clock that records its offers (the master's side of the callback). */
function harness(options: Partial<AllocatorOptions> = {}) {
  const clock = new FakeClock(1_000_000);
  const offers: Offered[] = [];
  const allocator = new Allocator({
    clock,
    offer: (frameworkId, agentId, resources, role) => offers.push({ frameworkId, agentId, resources, role }),
    ...options,
  });
  /** Runs a cycle and returns (and forgets) the offers it made. */
  const cycle = (): Offered[] => {
    allocator.allocate();
    return offers.splice(0);
  };
  return { clock, offers, allocator, cycle };
}

const text = (o: Offered | undefined): string => formatResources(unallocate(o?.resources ?? []));

test('offers go out through the callback and are held until recovered', () => {
  const { allocator, cycle } = harness();
  allocator.addAgent('a1', parseResources('cpus:4;mem:4096'));
  allocator.addFramework('f1', 'r');
  const [offer] = cycle();
  assert.deepEqual(
    [offer?.frameworkId, offer?.agentId, offer?.role, text(offer)],
    ['f1', 'a1', 'r', 'cpus:4;mem:4096'],
  );
  assert.deepEqual(cycle(), [], 'nothing is free while offered');
  allocator.recoverResources('f1', 'a1', offer!.resources);
  assert.equal(text(cycle()[0]), 'cpus:4;mem:4096');
});

test('a declined offer is filtered for refuse_seconds, unless more becomes free', () => {
  const { allocator, clock, cycle } = harness({ intervalMs: 1000 });
  allocator.addAgent('a1', parseResources('cpus:4;mem:4096'));
  allocator.addFramework('f1', 'r');
  allocator.recordAllocation('f1', 'a1', parseResources('cpus:1;mem:1024'));
  const [offer] = cycle();
  allocator.recoverResources('f1', 'a1', offer!.resources, 5);
  assert.deepEqual(cycle(), []);
  clock.advance(4_000);
  assert.deepEqual(cycle(), [], 'still filtered');
  allocator.recoverResources('f1', 'a1', parseResources('cpus:1;mem:1024'));
  assert.equal(text(cycle()[0]), 'cpus:4;mem:4096', 'a bigger offer is not a subset of the refused one');
  allocator.recoverResources('f1', 'a1', parseResources('cpus:4;mem:4096'), 5);
  clock.advance(5_000);
  assert.equal(text(cycle()[0]), 'cpus:4;mem:4096', 'the filter expired');
});

test('SUPPRESS and REVIVE per role; REVIVE clears only those roles\u2019 filters', () => {
  const { allocator, cycle } = harness();
  for (const id of ['a1', 'a2']) allocator.addAgent(id, parseResources('cpus:1;mem:64'));
  allocator.addFramework('multi', ['x', 'y']);
  allocator.suppress('multi', ['x']);
  const offers = cycle();
  assert.deepEqual(
    offers.map((o) => o.role),
    ['y', 'y'],
  );
  for (const o of offers) allocator.recoverResources('multi', o.agentId, o.resources, 60);
  assert.deepEqual(cycle(), [], 'y is filtered on both agents');
  allocator.revive('multi', ['x']);
  assert.deepEqual(
    cycle().map((o) => o.role),
    ['x', 'x'],
  );
  allocator.suppress('multi');
  for (const id of ['a1', 'a2']) allocator.recoverResources('multi', id, parseResources('cpus:1;mem:64'));
  assert.deepEqual(cycle(), [], 'all roles suppressed');
  allocator.revive('multi');
  assert.equal(cycle().length, 2);
});

test('with allocationInfo, offered resources carry their role and come back to it', () => {
  const { allocator, cycle } = harness({ allocationInfo: true });
  allocator.addAgent('a1', parseResources('cpus:2;mem:128'));
  allocator.addAgent('a2', parseResources('cpus:2;mem:128'));
  allocator.addFramework('multi', ['x', 'y']);
  const offers = cycle();
  assert.deepEqual(
    offers.map((o) => [o.role, o.resources.every((r) => r.allocation_info?.role === o.role)]),
    [
      ['x', true],
      ['y', true],
    ],
  );
  allocator.recoverResources('multi', 'a2', offers[1]!.resources, 60);
  assert.deepEqual(
    cycle().map((o) => o.role),
    ['x'],
    'y refused a2, so x gets it',
  );
});

test('deactivated agents get no offers until activated; removed agents and frameworks free everything', () => {
  const { allocator, cycle } = harness();
  allocator.addAgent('a1', parseResources('cpus:2;mem:128'));
  allocator.deactivateAgent('a1');
  allocator.addFramework('f', 'r');
  assert.deepEqual(cycle(), []);
  allocator.activateAgent('a1');
  assert.equal(cycle().length, 1);
  allocator.removeFramework('f');
  allocator.addFramework('g', 'r');
  assert.equal(text(cycle()[0]), 'cpus:2;mem:128');
  allocator.removeAgent('a1');
  assert.deepEqual(allocator.availableOn('a1'), []);
});

test('resources recorded before their framework subscribes are held, then charged to its first role', () => {
  const { allocator, cycle } = harness();
  allocator.addAgent('a1', parseResources('cpus:4;mem:4096'));
  allocator.recordAllocation('late', 'a1', parseResources('cpus:3;mem:1024'));
  allocator.addFramework('other', 'r');
  assert.equal(text(cycle()[0]), 'cpus:1;mem:3072');
  allocator.addFramework('late', 'q');
  allocator.recoverResources('late', 'a1', parseResources('cpus:3;mem:1024'));
  assert.equal(text(cycle()[0]), 'cpus:3;mem:1024');
});

test('RESERVE and CREATE through an offer: the volume survives its task and is offered back to its role only', () => {
  const { allocator, cycle } = harness({ allocationInfo: true });
  allocator.addAgent('a1', parseResources('cpus:4;mem:4096;disk:1000'));
  allocator.addFramework('db', 'db');
  const [offer] = cycle();
  const disk = reserve(parseResources('disk:200'), { type: 'DYNAMIC', role: 'db', principal: 'p' });
  const volume = createVolume(
    reserve(parseResources('disk:100'), { type: 'DYNAMIC', role: 'db', principal: 'p' })[0]!,
    {
      id: 'pg',
      containerPath: 'data',
      principal: 'p',
    },
  );
  const result = allocator.updateAllocation('db', 'a1', offer!.resources, [
    { type: 'RESERVE', reserve: { resources: disk } },
    { type: 'CREATE', create: { volumes: [volume] } },
  ]);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  assert.equal(formatResources(result.total), 'cpus:4;mem:4096;disk:800;disk(db):100;disk(db)[pg:data]:100');
  // A task uses the volume and a cpu; the rest is declined; later the task ends.
  const task = [...parseResources('cpus:1'), volume];
  allocator.recoverResources('db', 'a1', subtractResources(unallocate(result.offered), task));
  allocator.addFramework('web', 'web');
  const mid = cycle();
  assert.ok(
    mid.every((o) => !o.resources.some((r) => r.disk?.persistence)),
    'the volume is in use',
  );
  allocator.recoverResources('db', 'a1', task);
  for (const o of mid) allocator.recoverResources(o.frameworkId, o.agentId, o.resources, 300);
  const later = cycle();
  const back = later.find((o) => o.frameworkId === 'db');
  assert.ok(
    back?.resources.some((r) => r.disk?.persistence?.id === 'pg'),
    'the volume is offered back to db',
  );
  assert.ok(
    !later.some((o) => o.frameworkId === 'web' && o.resources.some((r) => r.role === 'db')),
    'never to web',
  );
});

test('updateAvailable applies operator operations to unallocated resources only', () => {
  const { allocator, cycle } = harness();
  allocator.addAgent('a1', parseResources('cpus:4;mem:4096'));
  allocator.recordAllocation('f', 'a1', parseResources('cpus:3'));
  const tooMuch = allocator.updateAvailable('a1', [
    { type: 'RESERVE', reserve: { resources: reserve(parseResources('cpus:2'), 'ops') } },
  ]);
  assert.ok(!tooMuch.ok, 'only 1 cpu is unallocated');
  const ok = allocator.updateAvailable('a1', [
    { type: 'RESERVE', reserve: { resources: reserve(parseResources('cpus:1'), 'ops') } },
  ]);
  assert.ok(ok.ok, 'reserving the free cpu works');
  allocator.addFramework('g', 'other');
  assert.equal(text(cycle()[0]), 'mem:4096');
});

test('weights: two roles weighted 1 and 3 with steady demand converge to a 1:3 split', () => {
  const { allocator, cycle } = harness();
  for (let i = 0; i < 100; i++) allocator.addAgent(`a${i}`, parseResources('cpus:1;mem:256'));
  allocator.setWeight('light', 1);
  allocator.setWeight('heavy', 3);
  allocator.addFramework('l', 'light');
  allocator.addFramework('h', 'heavy');
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const running: Offered[] = [];
  const held = { l: 0, h: 0 };
  const samples: number[] = [];
  for (let round = 0; round < 300; round++) {
    running.push(...cycle()); // each offer becomes a task using all of it
    for (let i = running.length - 1; i >= 0; i--)
      if (random() < 0.1) {
        const [t] = running.splice(i, 1);
        allocator.recoverResources(t!.frameworkId, t!.agentId, t!.resources);
      }
    held.l = running.filter((t) => t.frameworkId === 'l').length;
    held.h = running.filter((t) => t.frameworkId === 'h').length;
    if (round >= 100) samples.push(held.h / Math.max(1, held.l));
  }
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  assert.ok(mean > 2.6 && mean < 3.4, `heavy:light = ${mean.toFixed(2)}, expected about 3`);
});

test('quota: guarantees go first, limits cap offers; bad quotas and weights are refused', () => {
  const { allocator, cycle } = harness();
  for (let i = 0; i < 4; i++) allocator.addAgent(`a${i}`, parseResources('cpus:4;mem:4096'));
  allocator.setQuota('q', { guarantees: { cpus: 4 }, limits: { cpus: 6 } });
  allocator.addFramework('o', 'o');
  allocator.addFramework('q', 'q');
  const offers = cycle();
  const cpus = (fw: string): number =>
    scalarOf(
      offers.filter((o) => o.frameworkId === fw).flatMap((o) => o.resources),
      'cpus',
    );
  assert.equal(cpus('q'), 6);
  assert.equal(cpus('o'), 10);
  assert.throws(
    () => allocator.setQuota('q', { guarantees: { cpus: 8 }, limits: { cpus: 6 } }),
    /exceeds its limit/,
  );
  assert.throws(() => allocator.setQuota('*', { limits: { cpus: 1 } }), /cannot be set/);
  assert.throws(() => allocator.setWeight('r', 0), /positive/);
  allocator.removeQuota('q');
});

test('cycles run on the interval and soon after events, batched', () => {
  const { allocator, clock, offers } = harness({ intervalMs: 1000 });
  allocator.start();
  allocator.addAgent('a1', parseResources('cpus:1;mem:64'));
  allocator.addFramework('f', 'r');
  assert.equal(offers.length, 0);
  clock.advance(0);
  assert.equal(offers.length, 1, 'one batched cycle after the events');
  allocator.recoverResources('f', 'a1', offers[0]!.resources, 0.5);
  clock.advance(999);
  assert.equal(offers.length, 1, 'the filter lasts at least one interval');
  clock.advance(1001);
  assert.equal(offers.length, 2, 'the interval cycle offered it again');
  allocator.stop();
});

test('a custom minimum allocatable size', () => {
  const { allocator, cycle } = harness({ minAllocatable: [{ cpus: 1, mem: 512 }] });
  allocator.addAgent('small', parseResources('cpus:0.5;mem:4096'));
  allocator.addAgent('big', parseResources('cpus:1;mem:512'));
  allocator.addFramework('f', 'r');
  assert.deepEqual(
    cycle().map((o) => o.agentId),
    ['big'],
  );
});
