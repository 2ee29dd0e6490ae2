import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskStatus } from '../api/mesos.js';
import { FakeClock } from '../core/clock.js';
import { StatusUpdateManager } from './status-update-manager.js';
import type { AgentTask } from './types.js';

function harness(send?: (status: TaskStatus) => Promise<void>) {
  const clock = new FakeClock(1000);
  const task: AgentTask = {
    framework_id: 'fw',
    framework_info: { name: 'test' },
    task: { name: 't', task_id: { value: 't1' }, agent_id: { value: 'a' }, resources: [] },
    sandbox: '/nowhere',
    status: { task_id: { value: 't1' }, state: 'TASK_STAGING', timestamp: 1 },
    pending: [],
    removed: false,
    launched_at: 0,
  };
  const tasks = new Map([['t1', task]]);
  const sent: TaskStatus[] = [];
  let persisted = 0;
  const sum = new StatusUpdateManager({
    clock,
    tasks,
    persist: () => persisted++,
    send: (_f, s) => {
      sent.push(s);
      return send?.(s);
    },
    retryMs: 100,
  });
  const update = (state: TaskStatus['state']) =>
    sum.enqueue('t1', { task_id: { value: 't1' }, state, timestamp: 2 });
  return { clock, task, sent, sum, update, persisted: () => persisted };
}

test('updates go one at a time, in order, each after the previous is acknowledged', () => {
  const h = harness();
  h.update('TASK_STARTING');
  h.update('TASK_RUNNING');
  h.update('TASK_FINISHED');
  assert.deepEqual(
    h.sent.map((s) => s.state),
    ['TASK_STARTING'],
  );
  h.sum.acknowledge('t1', h.sent[0]!.uuid!);
  assert.deepEqual(
    h.sent.map((s) => s.state),
    ['TASK_STARTING', 'TASK_RUNNING'],
  );
  h.sum.acknowledge('t1', 'not-the-head');
  assert.equal(h.sent.length, 2, 'a stale uuid acknowledges nothing');
  h.sum.acknowledge('t1', h.sent[1]!.uuid!);
  h.sum.acknowledge('t1', h.sent[2]!.uuid!);
  assert.equal(h.task.pending.length, 0);
  assert.equal(h.task.status.state, 'TASK_FINISHED');
  assert.ok(h.persisted() >= 6, 'every enqueue and ack is checkpointed');
});

test('an unacknowledged update is resent with backoff', () => {
  const h = harness();
  h.update('TASK_RUNNING');
  h.clock.advance(100);
  assert.equal(h.sent.length, 2);
  h.clock.advance(150);
  assert.equal(h.sent.length, 2, 'the second retry waits twice as long');
  h.clock.advance(50);
  assert.equal(h.sent.length, 3);
  assert.equal(new Set(h.sent.map((s) => s.uuid)).size, 1, 'a resend carries the same uuid');
  h.sum.acknowledge('t1', h.sent[0]!.uuid!);
  h.clock.advance(10_000);
  assert.equal(h.sent.length, 3, 'no resend after the acknowledgement');
});

test('an update still on its way is not sent again: the resend timer starts when the send settles', async () => {
  const inFlight: Array<() => void> = [];
  const { clock, sent, sum, update } = harness(() => new Promise<void>((resolve) => inFlight.push(resolve)));
  update('TASK_RUNNING');
  clock.advance(1000);
  assert.equal(sent.length, 1, 'no resend while the first send is in flight');
  inFlight[0]!();
  await Promise.resolve();
  clock.advance(99);
  assert.equal(sent.length, 1);
  clock.advance(1);
  assert.equal(sent.length, 2, 'resent a retry interval after the send settled');
  // Acknowledged while the resend is in flight: settling it arms nothing.
  sum.acknowledge('t1', sent[1]!.uuid!);
  inFlight[1]!();
  await Promise.resolve();
  clock.advance(10_000);
  assert.equal(sent.length, 2);
});
