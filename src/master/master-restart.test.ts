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
  const store = new MemoryStore();
  const clock = new FakeClock(1_000_000);
  const [a, b] = await storeWithTwoAgents(store, clock);
  const master = new Master({ store, clock, allocationIntervalMs: 100 });
  await master.recover();
  master.start();
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
  const store = new MemoryStore();
  const clock = new FakeClock(1_000_000);
  const [a] = await storeWithTwoAgents(store, clock);
  const master = new Master({ store, clock, allocationIntervalMs: 100 });
  await master.recover();
  master.start();
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
