import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  computeCapacityBounds,
  computeDeploymentStep,
  describeDeploymentSteps,
  type PlannerInstance,
  type PlannerTarget,
} from './deployment-steps.js';
import type { UpgradeStrategy } from './types.js';

const rolling = (min = 1, over = 1): UpgradeStrategy => ({
  type: 'rolling',
  minimumHealthCapacity: min,
  maximumOverCapacity: over,
});

function running(count: number, current: boolean, prefix: string): PlannerInstance[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    current,
    state: 'running' as const,
    ready: true,
    createdAt: i,
  }));
}

const target = (instances: number, strategy = rolling()): PlannerTarget => ({
  instances,
  strategy,
  killSelection: 'YOUNGEST_FIRST',
});

describe('computeCapacityBounds', () => {
  it('follows minimumHealthCapacity and maximumOverCapacity, leaving room to move', () => {
    assert.deepEqual(computeCapacityBounds(4, rolling(1, 1)), { minReady: 4, maxTotal: 8 });
    assert.deepEqual(computeCapacityBounds(4, rolling(0.5, 0)), { minReady: 2, maxTotal: 4 });
    assert.deepEqual(computeCapacityBounds(4, rolling(1, 0.1)), { minReady: 4, maxTotal: 5 });
    assert.deepEqual(computeCapacityBounds(4, rolling(0.9, 0)), { minReady: 3, maxTotal: 4 });
    assert.deepEqual(computeCapacityBounds(3, { type: 'blueGreen' }), { minReady: 3, maxTotal: 6 });
  });
});

describe('computeDeploymentStep', () => {
  it('starts every instance of a new service', () => {
    const step = computeDeploymentStep(target(3), []);
    assert.equal(step.launch, 3);
    assert.deepEqual(step.kill, []);
    assert.equal(step.done, false);
  });

  it('kills old instances only once new ones are ready (rolling, min 1)', () => {
    const old = running(2, false, 'o');
    const t = target(2, rolling(1, 0.5));
    const first = computeDeploymentStep(t, old);
    assert.equal(first.launch, 1);
    assert.deepEqual(first.kill, []);
    const starting: PlannerInstance = {
      id: 'n0',
      current: true,
      state: 'starting',
      ready: false,
      createdAt: 9,
    };
    assert.deepEqual(computeDeploymentStep(t, [...old, starting]).kill, []);
    const ready = { ...starting, state: 'running' as const, ready: true };
    const step = computeDeploymentStep(t, [...old, ready]);
    assert.deepEqual(step.kill, ['o1'], 'the youngest old instance goes first');
    assert.equal(step.launch, 0, 'the killed one still counts towards capacity');
  });

  it('scales down by killSelection, not-ready instances first', () => {
    const inst = running(4, true, 'c');
    inst[0] = { ...inst[0]!, ready: false, state: 'starting' };
    assert.deepEqual(computeDeploymentStep(target(2), inst).kill, ['c0', 'c3']);
    const oldest = computeDeploymentStep({ ...target(2), killSelection: 'OLDEST_FIRST' }, inst);
    assert.deepEqual(oldest.kill, ['c0', 'c1']);
  });

  it('blue/green starts a full set and kills the old set only when all new are ready', () => {
    const t = target(3, { type: 'blueGreen' });
    const old = running(3, false, 'o');
    assert.equal(computeDeploymentStep(t, old).launch, 3);
    const fresh = running(3, true, 'n');
    fresh[2] = { ...fresh[2]!, ready: false, state: 'starting' };
    assert.deepEqual(computeDeploymentStep(t, [...old, ...fresh]).kill, []);
    assert.deepEqual(computeDeploymentStep(t, [...old, ...running(3, true, 'n')]).kill.sort(), [
      'o0',
      'o1',
      'o2',
    ]);
  });

  it('replaces an inactive (long unreachable) instance and is done when all are ready', () => {
    const inst = running(3, true, 'c');
    assert.equal(computeDeploymentStep(target(3), inst).done, true);
    inst[1] = { ...inst[1]!, state: 'inactive', ready: false };
    const step = computeDeploymentStep(target(3), inst);
    assert.equal(step.launch, 1);
    assert.equal(step.done, false);
  });

  it('describes the steps of a rolling upgrade', () => {
    const steps = describeDeploymentSteps(target(4, rolling(1, 0.5)), running(4, false, 'o'));
    assert.deepEqual(steps, ['start 2 new', 'kill 2 old', 'start 2 new', 'kill 2 old']);
  });

  it('handles 10,000 instances quickly', () => {
    const inst = [...running(10_000, false, 'o'), ...running(5_000, true, 'n')];
    const started = performance.now();
    const step = computeDeploymentStep(target(10_000, rolling(1, 0.5)), inst);
    const ms = performance.now() - started;
    assert.equal(step.kill.length, 5_000);
    assert.ok(ms < 500, `took ${ms} ms`);
  });
});

/**
 * A random run: the planner's steps are applied; between them, random events happen (a starting instance
 * becomes ready, a killed instance ends, a ready instance fails). Invariants: a planner kill never takes the
 * ready count below the minimum (unless it was already below), a planner launch never takes the alive
 * count above the maximum, and once events stop being hostile the run converges.
 */
describe('deployment planner properties', () => {
  const strategyArb = fc.oneof(
    fc
      .record({
        min: fc.double({ min: 0, max: 1, noNaN: true }),
        over: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .filter((s) => !(s.min === 1 && s.over === 0))
      .map((s) => rolling(s.min, s.over)),
    fc.constant<UpgradeStrategy>({ type: 'blueGreen' }),
  );
  const eventArb = fc.record({ kind: fc.constantFrom('ready', 'end', 'fail', 'plan'), pick: fc.nat() });

  it('never below minimum, never above maximum, and converges', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 12 }),
        fc.nat({ max: 12 }),
        strategyArb,
        fc.constantFrom('YOUNGEST_FIRST' as const, 'OLDEST_FIRST' as const),
        fc.array(eventArb, { maxLength: 80 }),
        (oldCount, n, strategy, killSelection, events) => {
          const t: PlannerTarget = { instances: n, strategy, killSelection };
          const { minReady, maxTotal } = computeCapacityBounds(n, strategy);
          let inst: PlannerInstance[] = running(oldCount, false, 'o');
          let serial = 0;
          const readyCount = (): number => inst.filter((i) => i.ready && i.state !== 'killing').length;
          const plan = (): void => {
            const readyBefore = readyCount();
            const aliveBefore = inst.length;
            const step = computeDeploymentStep(t, inst);
            const kills = new Set(step.kill);
            inst = inst.map((i) => (kills.has(i.id) ? { ...i, state: 'killing' as const } : i));
            for (let k = 0; k < step.launch; k++)
              inst.push({
                id: `n${serial++}`,
                current: true,
                state: 'starting',
                ready: false,
                createdAt: serial,
              });
            if (strategy.type === 'rolling') {
              assert.ok(readyCount() >= Math.min(minReady, readyBefore), 'ready fell below the minimum');
              if (step.launch > 0) assert.ok(inst.length <= Math.max(maxTotal, aliveBefore), 'over capacity');
            } else if (step.kill.length > 0) {
              assert.ok(
                readyCount() >= Math.min(n, readyBefore),
                'blue/green killed before the new set was ready',
              );
            }
          };
          for (const e of events) {
            if (e.kind === 'plan') {
              plan();
              continue;
            }
            const pool =
              e.kind === 'ready'
                ? inst.filter((i) => i.state === 'starting')
                : e.kind === 'end'
                  ? inst.filter((i) => i.state === 'killing')
                  : inst.filter((i) => i.state === 'running' && i.current);
            const chosen = pool[e.pick % Math.max(1, pool.length)];
            if (!chosen) continue;
            if (e.kind === 'ready')
              inst = inst.map((i) => (i === chosen ? { ...i, state: 'running' as const, ready: true } : i));
            else inst = inst.filter((i) => i !== chosen); // ended, or failed and gone
          }
          // From here on everything succeeds: it must converge.
          for (let round = 0; round < 4 * (n + oldCount) + 10; round++) {
            plan();
            inst = inst
              .filter((i) => i.state !== 'killing')
              .map((i) => (i.state === 'starting' ? { ...i, state: 'running' as const, ready: true } : i));
          }
          const final = computeDeploymentStep(t, inst);
          assert.ok(final.done, `did not converge: ${JSON.stringify(inst)}`);
          assert.equal(inst.length, n);
        },
      ),
      { numRuns: 300 },
    );
  });
});
