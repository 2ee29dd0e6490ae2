import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AgentCall, AgentEvent } from '../api/agent.js';
import type { TaskState } from '../api/mesos.js';
import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import { FakeClock } from '../core/clock.js';
import { parseResources } from '../core/resources.js';
import { MemoryStore } from '../store/index.js';
import { computePrune, isCompleted } from './completed.js';
import { Master } from './master.js';
import { TaskBook } from './task-book.js';
import type { TaskRecord } from './types.js';

function record(id: string, state: TaskState, extra: Partial<TaskRecord> = {}, uuid?: string): TaskRecord {
  return {
    id,
    framework_id: 'f',
    agent_id: 'a',
    task: { name: id, task_id: { value: id }, agent_id: { value: 'a' }, resources: [] },
    status: { task_id: { value: id }, state, timestamp: 0, ...(uuid ? { uuid } : {}) },
    created_at: 0,
    updated_at: 0,
    ...extra,
  };
}

// ---- the pure rule ---------------------------------------------------------------------------------

test('a task is completed once terminal and its update needs no more delivery', () => {
  const live = { frameworkActive: true, agentRemoved: false };
  assert.equal(isCompleted(record('t', 'TASK_RUNNING'), live), false);
  assert.equal(
    isCompleted(record('t', 'TASK_RUNNING'), { frameworkActive: false, agentRemoved: true }),
    false,
  );
  assert.equal(isCompleted(record('t', 'TASK_FINISHED', {}, 'u1'), live), false, 'waits for the ack');
  assert.equal(isCompleted(record('t', 'TASK_FINISHED', { acknowledged: 'u1' }, 'u1'), live), true);
  assert.equal(isCompleted(record('t', 'TASK_FINISHED', { acknowledged: 'u0' }, 'u1'), live), false);
  assert.equal(isCompleted(record('t', 'TASK_LOST'), live), true, 'master-made: nobody acknowledges it');
  assert.equal(isCompleted(record('t', 'TASK_FAILED', {}, 'u1'), { ...live, frameworkActive: false }), true);
  assert.equal(isCompleted(record('t', 'TASK_FAILED', {}, 'u1'), { ...live, agentRemoved: true }), true);
});

test('computePrune keeps the newest completed tasks per framework and the newest torn-down frameworks', () => {
  const active = new Set(['live']);
  const plan = computePrune(
    {
      completed: new Map([
        ['live', 7],
        ['old', 2],
        ['recent', 4],
        ['orphan', 3],
      ]),
      isActive: (id) => active.has(id),
      removed: ['old', 'recent'],
    },
    { maxTasksPerFramework: 3, maxFrameworks: 1 },
  );
  assert.deepEqual(plan.frameworks, ['old']);
  assert.deepEqual([...plan.tasks].sort(), [
    ['live', 4],
    ['old', 2],
    ['orphan', 3],
    ['recent', 1],
  ]);
});

test('computePrune: what is kept never exceeds the bounds, and active frameworks are never forgotten', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.nat(50)),
      fc.subarray(['a', 'b', 'c', 'd', 'e']),
      fc.subarray(['a', 'b', 'c', 'd', 'e']),
      fc.nat(10),
      fc.nat(4),
      (counts, active, removed, maxTasks, maxFrameworks) => {
        const isActive = (id: string): boolean => active.includes(id);
        const completed = new Map(Object.entries(counts));
        const plan = computePrune(
          { completed, isActive, removed },
          { maxTasksPerFramework: maxTasks, maxFrameworks },
        );
        for (const id of plan.frameworks) assert.ok(!isActive(id) && removed.includes(id));
        const remembered = removed.filter((id) => !plan.frameworks.includes(id) && !isActive(id));
        assert.ok(remembered.length <= maxFrameworks);
        for (const [id, count] of completed) {
          const dropped = plan.tasks.get(id) ?? 0;
          assert.ok(dropped >= 0 && dropped <= count);
          const keptAllowed = isActive(id) || remembered.includes(id) ? maxTasks : 0;
          assert.equal(count - dropped, Math.min(count, keptAllowed));
        }
      },
    ),
  );
});

test('TaskBook forgets the oldest completed tasks first, and a task that runs again is not completed', () => {
  const book = new TaskBook();
  for (const id of ['t1', 't2', 't3']) book.set(record(id, 'TASK_FINISHED'));
  book.markCompleted(book.get('t2')!);
  book.markCompleted(book.get('t1')!);
  book.markCompleted(book.get('t3')!);
  book.set(record('t3', 'TASK_RUNNING'));
  assert.deepEqual([...book.completedCounts()], [['f', 2]]);
  assert.deepEqual(book.dropOldestCompleted('f', 1), ['t2']);
  assert.equal(book.has('t2'), false);
  assert.deepEqual(
    book.onAgent('a').map((t) => t.id),
    ['t1', 't3'],
  );
});

// ---- the master, in process ------------------------------------------------------------------------

function sink<E>(): { events: E[]; send(event: E): void; close(): void } {
  const events: E[] = [];
  return { events, send: (event) => events.push(event), close: () => undefined };
}

interface Harness {
  master: Master;
  framework: ReturnType<typeof sink<SchedulerEvent>>;
  agent: ReturnType<typeof sink<AgentEvent>>;
  frameworkStream: string;
  frameworkId: string;
  agentStream: string;
  agentId: string;
}

async function startMaster(
  store: MemoryStore,
  clock: FakeClock,
  bounds: { maxCompletedTasksPerFramework: number; maxCompletedFrameworks: number },
  ids?: { frameworkId: string; agentId: string },
): Promise<Harness> {
  const master = new Master({ store, clock, allocationIntervalMs: 100, ...bounds });
  await master.recover();
  master.start();
  const framework = sink<SchedulerEvent>();
  const f = master.subscribeFramework(
    {
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: {
          name: 'f',
          user: 'root',
          failover_timeout: 3600,
          ...(ids ? { id: { value: ids.frameworkId } } : {}),
        },
      },
    } as SchedulerCall,
    framework,
  );
  const agent = sink<AgentEvent>();
  const a = master.subscribeAgent(
    {
      type: 'SUBSCRIBE',
      subscribe: {
        agent_info: {
          ...(ids ? { id: { value: ids.agentId } } : {}),
          hostname: 'h',
          resources: parseResources('cpus:4;mem:4096'),
        },
        tasks: [],
      },
    },
    agent,
  );
  return {
    master,
    framework,
    agent,
    frameworkStream: f.streamId,
    frameworkId: f.frameworkId,
    agentStream: a.streamId,
    agentId: a.agentId,
  };
}

/** Launches `count` small tasks on the next offer; returns their ids. */
function launch(h: Harness, clock: FakeClock, prefix: string, count: number): string[] {
  clock.advance(11_000); // past the offer hold after a restart, and past any decline filter
  const offer = h.framework.events.findLast((e) => e.type === 'OFFERS')?.offers?.offers[0];
  assert.ok(offer, 'an offer');
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  h.master.handleSchedulerCall(h.frameworkStream, {
    type: 'ACCEPT',
    framework_id: { value: h.frameworkId },
    accept: {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: ids.map((id) => ({
              name: id,
              task_id: { value: id },
              agent_id: offer.agent_id,
              resources: parseResources('cpus:0.01;mem:1'),
            })),
          },
        },
      ],
      filters: { refuse_seconds: 0 },
    },
  } as SchedulerCall);
  return ids;
}

function finish(h: Harness, id: string, ack: boolean): void {
  const uuid = `uuid-${id}`;
  h.master.handleAgentCall(h.agentStream, {
    type: 'UPDATE',
    agent_id: { value: h.agentId },
    update: {
      framework_id: { value: h.frameworkId },
      status: {
        task_id: { value: id },
        state: 'TASK_FINISHED',
        uuid,
        source: 'SOURCE_EXECUTOR',
        timestamp: 1,
      },
    },
  } as AgentCall);
  if (ack)
    h.master.handleSchedulerCall(h.frameworkStream, {
      type: 'ACKNOWLEDGE',
      framework_id: { value: h.frameworkId },
      acknowledge: { agent_id: { value: h.agentId }, task_id: { value: id }, uuid },
    } as SchedulerCall);
}

async function storedTaskIds(store: MemoryStore): Promise<string[]> {
  return (await store.list<TaskRecord>('master/tasks/')).map((e) => e.value.id).sort();
}

test('the master keeps the newest acknowledged tasks per framework, in memory and in the store', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock(1_000_000);
  const bounds = { maxCompletedTasksPerFramework: 5, maxCompletedFrameworks: 2 };
  const h = await startMaster(store, clock, bounds);
  const kept = ['t-0', 't-24', 't-25', 't-26', 't-27', 't-28', 't-29'];
  try {
    const ids = launch(h, clock, 't', 30);
    for (const [i, id] of ids.entries()) {
      clock.advance(1);
      // t-0 ends but its ack never comes; t-29 keeps running.
      if (i === 29) continue;
      finish(h, id, i !== 0);
    }
    const listed = h.master
      .listTasks({ all: true })
      .map((t) => t.id)
      .sort();
    assert.deepEqual(listed, kept);
  } finally {
    await h.master.stop();
  }
  assert.deepEqual(await storedTaskIds(store), kept);
  // A restart reloads only what was kept; the unacknowledged task is still there, and its late ack lets it go.
  const again = await startMaster(store, clock, bounds, { frameworkId: h.frameworkId, agentId: h.agentId });
  try {
    // The agent came back without t-29: it is LOST (made by the master: completed), and t-24 goes.
    assert.deepEqual(
      again.master
        .listTasks({ all: true })
        .map((t) => t.id)
        .sort(),
      ['t-0', 't-25', 't-26', 't-27', 't-28', 't-29'],
    );
    again.master.handleSchedulerCall(again.frameworkStream, {
      type: 'RECONCILE',
      framework_id: { value: h.frameworkId },
      reconcile: { tasks: [{ task_id: { value: 't-3' } }, { task_id: { value: 't-28' } }] },
    } as SchedulerCall);
    const answers = again.framework.events
      .flatMap((e) => (e.type === 'UPDATE' ? [e.update.status] : []))
      .filter((status) => status.reason === 'REASON_RECONCILIATION')
      .map((status) => [status.task_id.value, status.state]);
    assert.deepEqual(answers, [
      ['t-3', 'TASK_UNKNOWN'],
      ['t-28', 'TASK_FINISHED'],
    ]);
    again.master.handleSchedulerCall(again.frameworkStream, {
      type: 'ACKNOWLEDGE',
      framework_id: { value: h.frameworkId },
      acknowledge: { agent_id: { value: h.agentId }, task_id: { value: 't-0' }, uuid: 'uuid-t-0' },
    } as SchedulerCall);
    // t-0 is completed now, the newest to complete: the oldest completed one (t-25) goes.
    const now = again.master.listTasks({ all: true }).map((t) => t.id);
    assert.deepEqual(now.sort(), ['t-0', 't-26', 't-27', 't-28', 't-29']);
    assert.equal(
      again.agent.events.some((e) => e.type === 'ACKNOWLEDGED' && e.acknowledged?.task_id.value === 't-0'),
      true,
    );
    // An update the agent resends for a forgotten task still reaches the framework, to be acknowledged.
    finish(again, 't-1', false);
    const last = again.framework.events.at(-1);
    assert.equal(last?.type === 'UPDATE' && last.update?.status.task_id.value, 't-1');
    assert.equal(again.master.listTasks({ all: true }).length, 5, 'and it is not brought back');
  } finally {
    await again.master.stop();
  }
  assert.deepEqual(await storedTaskIds(store), ['t-0', 't-26', 't-27', 't-28', 't-29']);
});

test('torn-down frameworks: the newest few are kept with their ended tasks, in memory and in the store', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock(1_000_000);
  const bounds = { maxCompletedTasksPerFramework: 2, maxCompletedFrameworks: 2 };
  const frameworks: string[] = [];
  for (let n = 0; n < 4; n++) {
    const h = await startMaster(store, clock, bounds);
    try {
      frameworks.push(h.frameworkId);
      // Ended, never acknowledged: the teardown makes them completed (nobody can acknowledge them now).
      for (const id of launch(h, clock, `f${n}`, 3)) finish(h, id, false);
      h.master.handleSchedulerCall(h.frameworkStream, {
        type: 'TEARDOWN',
        framework_id: { value: h.frameworkId },
      } as SchedulerCall);
    } finally {
      await h.master.stop();
    }
    clock.advance(1000);
  }
  const kept = (await store.list<{ id: string }>('master/completed-frameworks/')).map((e) => e.value.id);
  assert.deepEqual(kept.sort(), frameworks.slice(2).sort());
  assert.deepEqual(await storedTaskIds(store), ['f2-1', 'f2-2', 'f3-1', 'f3-2']);
  const master = new Master({ store, clock, ...bounds });
  await master.recover();
  try {
    assert.deepEqual(
      master
        .listTasks({ all: true })
        .map((t) => t.id)
        .sort(),
      ['f2-1', 'f2-2', 'f3-1', 'f3-2'],
    );
  } finally {
    await master.stop();
  }
});
