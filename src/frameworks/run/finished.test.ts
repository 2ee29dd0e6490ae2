import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { finishedToForget } from './finished.js';
import type { RunState, RunTask } from './types.js';

const run = (id: string, state: RunState, updated_at: number): RunTask => ({
  id,
  name: id,
  request: {},
  cpus: 0.1,
  mem: 16,
  state,
  created_at: 0,
  updated_at,
});

test('the oldest finished runs beyond the bound are forgotten; pending and running ones never', () => {
  const tasks = [
    run('new', 'TASK_FINISHED', 30),
    run('old', 'TASK_FAILED', 10),
    run('pending', 'PENDING', 1),
    run('running', 'TASK_RUNNING', 2),
    run('mid', 'TASK_KILLED', 20),
  ];
  assert.deepEqual(finishedToForget(tasks, 1), ['old', 'mid']);
  assert.deepEqual(finishedToForget(tasks, 3), []);
  assert.deepEqual(finishedToForget(tasks, 0), ['old', 'mid', 'new']);
});

test('after forgetting, at most `max` finished runs remain, and they are the newest', () => {
  const states: RunState[] = ['PENDING', 'TASK_RUNNING', 'TASK_FINISHED', 'TASK_FAILED'];
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...states), fc.nat(100))), fc.nat(5), (specs, max) => {
      const tasks = specs.map(([state, at], i) => run(`t${i}`, state, at));
      const forgotten = new Set(finishedToForget(tasks, max));
      const left = tasks.filter((t) => !forgotten.has(t.id));
      const finishedLeft = left.filter((t) => t.state === 'TASK_FINISHED' || t.state === 'TASK_FAILED');
      assert.ok(finishedLeft.length <= max);
      assert.equal(left.length, tasks.length - forgotten.size);
      for (const t of tasks.filter((t) => forgotten.has(t.id))) {
        assert.ok(t.state === 'TASK_FINISHED' || t.state === 'TASK_FAILED');
        for (const k of finishedLeft) assert.ok(k.updated_at >= t.updated_at);
      }
    }),
  );
});
