import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Offer } from '../../api/mesos.js';
import { scalar } from '../../core/resources.js';
import { computeLaunches } from './compute-launches.js';
import type { RunTask } from './types.js';

const offer = (id: string, cpus: number, mem: number): Offer => ({
  id: { value: id },
  framework_id: { value: 'f' },
  agent_id: { value: `agent-${id}` },
  hostname: 'h',
  resources: [scalar('cpus', cpus), scalar('mem', mem)],
});
const task = (id: string, cpus: number, mem: number): RunTask => ({
  id,
  name: id,
  request: {},
  cpus,
  mem,
  state: 'PENDING',
  created_at: 0,
  updated_at: 0,
});

test('first fit in submission order, and the leftovers of an offer are used', () => {
  const plan = computeLaunches(
    [task('a', 1, 100), task('b', 1, 100), task('c', 4, 100)],
    [offer('o1', 1.5, 1000), offer('o2', 2, 1000)],
  );
  assert.deepEqual(
    [...plan.launches].map(([o, ts]) => [o, ts.map((t) => t.id)]),
    [
      ['o1', ['a']],
      ['o2', ['b']],
    ],
  );
  assert.deepEqual(
    plan.unplaced.map((t) => t.id),
    ['c'],
  );
  assert.deepEqual(plan.decline, []);
});

test('offers that take nothing are declined; fixed-point cpus add up exactly', () => {
  const tasks = Array.from({ length: 10 }, (_, i) => task(`t${i}`, 0.1, 1));
  const plan = computeLaunches(tasks, [offer('o1', 1, 10), offer('o2', 1, 10)]);
  assert.equal(plan.launches.get('o1')?.length, 10, 'ten tasks of 0.1 cpus fit in 1 cpu');
  assert.deepEqual(plan.decline, ['o2']);
});
