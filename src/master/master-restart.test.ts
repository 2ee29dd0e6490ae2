import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentCall, AgentEvent } from '../api/agent.js';
import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import { FakeClock } from '../core/clock.js';
import { parseResources } from '../core/resources.js';
import { MemoryStore } from '../store/index.js';
import { Master } from './master.js';

function sink<E>(): { events: E[]; send(event: E): void; close(): void } {
  const events: E[] = [];
  return { events, send: (event) => events.push(event), close: () => undefined };
}

function agentSubscribe(hostname: string, id?: string): Extract<AgentCall, { type: 'SUBSCRIBE' }> {
  return {
    type: 'SUBSCRIBE',
    subscribe: {
      agent_info: {
        ...(id ? { id: { value: id } } : {}),
        hostname,
        resources: parseResources('cpus:4;mem:4096'),
      },
      tasks: [],
    },
  };
}

const frameworkSubscribe = {
  type: 'SUBSCRIBE',
  subscribe: { framework_info: { name: 'f', user: 'root' } },
} as SchedulerCall;

/** A master on `store` that knows agents a and b (it subscribed them and stopped); their ids. */
/** A store written by a first master (`prepare`), then a second master recovered from it and started. */
async function restartWith<T>(prepare: (store: MemoryStore, clock: FakeClock) => Promise<T>) {
  const store = new MemoryStore();
  const clock = new FakeClock(1_000_000);
  const prepared = await prepare(store, clock);
  const master = new Master({ store, clock, allocationIntervalMs: 100 });
  await master.recover();
  master.start();
  return { store, clock, prepared, master };
}

async function storeWithTwoAgents(store: MemoryStore, clock: FakeClock): Promise<string[]> {
  const first = new Master({ store, clock, allocationIntervalMs: 100 });
  await first.recover();
  first.start();
  const ids = ['a', 'b'].map((h) => first.subscribeAgent(agentSubscribe(h), sink<AgentEvent>()).agentId);
  await first.stop();
  return ids;
}

function offersIn(events: SchedulerEvent[]): number {
  return events.filter((e) => e.type === 'OFFERS').length;
}

test('after a restart, offers wait until every recovered agent has re-subscribed', async () => {
  const {
    clock,
    prepared: [a, b],
    master,
  } = await restartWith(storeWithTwoAgents);
  try {
    const framework = sink<SchedulerEvent>();
    master.subscribeFramework(frameworkSubscribe, framework);
    master.subscribeAgent(agentSubscribe('a', a), sink<AgentEvent>());
    clock.advance(1000);
    assert.equal(offersIn(framework.events), 0, 'no offers while agent b has not come back');
    assert.deepEqual(master.summary(), { agents: { ACTIVE: 1, DISCONNECTED: 1 }, tasks: {} });
    master.subscribeAgent(agentSubscribe('b', b), sink<AgentEvent>());
    clock.advance(1);
    assert.ok(offersIn(framework.events) > 0, 'offers once every recovered agent is back');
  } finally {
    await master.stop();
  }
});

test('after a restart, offers resume after 10 s even if a recovered agent never comes back', async () => {
  const {
    clock,
    prepared: [a],
    master,
  } = await restartWith(storeWithTwoAgents);
  try {
    const framework = sink<SchedulerEvent>();
    master.subscribeFramework(frameworkSubscribe, framework);
    master.subscribeAgent(agentSubscribe('a', a), sink<AgentEvent>());
    clock.advance(9000);
    assert.equal(offersIn(framework.events), 0);
    clock.advance(1001);
    assert.ok(offersIn(framework.events) > 0, 'offers for agent a after the hold');
  } finally {
    await master.stop();
  }
});

test('a master on an empty store makes offers at once', async () => {
  const clock = new FakeClock(1_000_000);
  const master = new Master({ store: new MemoryStore(), clock, allocationIntervalMs: 100 });
  await master.recover();
  master.start();
  try {
    const framework = sink<SchedulerEvent>();
    master.subscribeFramework(frameworkSubscribe, framework);
    master.subscribeAgent(agentSubscribe('a'), sink<AgentEvent>());
    clock.advance(101);
    assert.ok(offersIn(framework.events) > 0);
  } finally {
    await master.stop();
  }
});

/** A task report as an agent sends it in full: TaskInfo and status. */
function fullReport(taskId: string, agentId: string, state: 'TASK_RUNNING' | 'TASK_FINISHED') {
  return {
    framework_id: { value: 'fw-1' },
    task: {
      name: taskId,
      task_id: { value: taskId },
      agent_id: { value: agentId },
      resources: parseResources('cpus:1;mem:128'),
      command: { value: 'sleep 1000' },
    },
    status: {
      task_id: { value: taskId },
      agent_id: { value: agentId },
      state,
      source: 'SOURCE_AGENT' as const,
      timestamp: 1000,
      uuid: `u-${taskId}-${state}`,
    },
  };
}

/** A store whose master knows agent a running tasks t1 and t2 (reported in full); a's id. */
async function storeWithTasks(store: MemoryStore, clock: FakeClock): Promise<string> {
  const first = new Master({ store, clock, allocationIntervalMs: 100 });
  await first.recover();
  first.start();
  const a = first.subscribeAgent(agentSubscribe('a'), sink<AgentEvent>()).agentId;
  const call = agentSubscribe('a', a);
  call.subscribe.tasks = [fullReport('t1', a, 'TASK_RUNNING'), fullReport('t2', a, 'TASK_RUNNING')];
  first.subscribeAgent(call, sink<AgentEvent>());
  await first.stop();
  return a;
}

function compact(report: ReturnType<typeof fullReport>) {
  return { framework_id: report.framework_id, status: report.status };
}

test('after a restart, an agent may report the tasks the master knows by status only', async () => {
  const { prepared: a, master } = await restartWith(storeWithTasks);
  try {
    const call = agentSubscribe('a', a);
    call.subscribe.known_tasks = [
      compact(fullReport('t1', a, 'TASK_RUNNING')),
      compact(fullReport('t2', a, 'TASK_FINISHED')),
    ];
    const events = sink<AgentEvent>();
    master.subscribeAgent(call, events);
    const subscribed = events.events.find((e) => e.type === 'SUBSCRIBED');
    assert.equal(subscribed?.type === 'SUBSCRIBED' && subscribed.subscribed.compact_reports, true);
    assert.equal(master.findTask('t1').status.state, 'TASK_RUNNING');
    // A changed state is applied (t2 ended: the master may forget it, as it does completed tasks).
    assert.deepEqual(master.summary().tasks.TASK_RUNNING, 1);
    assert.notEqual(master.listTasks({ all: true }).find((t) => t.id === 't2')?.state, 'TASK_RUNNING');
    assert.equal(master.findTask('t1').task.command?.value, 'sleep 1000', 'the TaskInfo is the known one');
    assert.deepEqual(master.summary().agents, { ACTIVE: 1 });
  } finally {
    await master.stop();
  }
});

test('a compact report of a task the master does not know is refused, and nothing changes', async () => {
  const { prepared: a, master } = await restartWith(storeWithTasks);
  try {
    const call = agentSubscribe('a', a);
    call.subscribe.known_tasks = [
      compact(fullReport('t1', a, 'TASK_RUNNING')),
      compact(fullReport('t9', a, 'TASK_RUNNING')),
    ];
    const events = sink<AgentEvent>();
    assert.throws(() => master.subscribeAgent(call, events), { code: 'ERR_CONFLICT', message: /t9/ });
    assert.equal(events.events.length, 0);
    assert.deepEqual(master.summary(), { agents: { DISCONNECTED: 1 }, tasks: { TASK_RUNNING: 2 } });
    // The agent's next attempt, in full (as an older agent always sends it), is taken.
    const full = agentSubscribe('a', a);
    full.subscribe.tasks = [fullReport('t1', a, 'TASK_RUNNING'), fullReport('t9', a, 'TASK_RUNNING')];
    master.subscribeAgent(full, sink<AgentEvent>());
    assert.deepEqual(master.summary().agents, { ACTIVE: 1 });
    assert.deepEqual(master.summary().tasks.TASK_RUNNING, 2);
    assert.equal(master.findTask('t9').status.state, 'TASK_RUNNING');
    assert.notEqual(
      master.listTasks({ all: true }).find((t) => t.id === 't2')?.state,
      'TASK_RUNNING',
      'a task the agent does not report is lost',
    );
  } finally {
    await master.stop();
  }
});

test('after a restart, the offer hold lasts while recovered agents keep coming back', async () => {
  const {
    clock,
    prepared: [a],
    master,
  } = await restartWith(storeWithTwoAgents);
  try {
    const framework = sink<SchedulerEvent>();
    master.subscribeFramework(frameworkSubscribe, framework);
    clock.advance(8000);
    master.subscribeAgent(agentSubscribe('a', a), sink<AgentEvent>());
    clock.advance(9000);
    assert.equal(offersIn(framework.events), 0, 'agent a came back 9 s ago: b may still come');
    clock.advance(1001);
    assert.ok(offersIn(framework.events) > 0, 'offers 10 s after the last agent came back');
  } finally {
    await master.stop();
  }
});
