/**
 * A task's terminal update goes out before the runtime's cleanup (unmount, runc state), and an agent that
 * died between the two finishes the cleanup when it recovers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskStatus } from '../api/mesos.js';
import { MemoryStore } from '../store/index.js';
import type { ExitStatus } from '../runtime/index.js';
import { Agent } from './agent.js';
import type { TaskContainerizer } from './containerizer.js';
import { fakeContainerizer, fakeMasterLink } from './test-support.js';

function newAgent(store: MemoryStore, containerizer: TaskContainerizer) {
  const { link, updates, launch } = fakeMasterLink();
  const agent = new Agent({
    store,
    link,
    containerizer,
    workDir: '/nonexistent-berth-test',
    resources: [],
    heartbeatSeconds: 0,
  });
  return { agent, updates, launch };
}

const until = async (what: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(what(), 'in time');
};

test('the terminal update does not wait for the cleanup; a cleanup cut short is finished on recovery', async () => {
  const store = new MemoryStore();
  let exit!: (status: ExitStatus) => void;
  let cleanups = 0;
  const hanging = fakeContainerizer({
    wait: () => new Promise<ExitStatus>((resolve) => (exit = resolve)),
    cleanup: () => {
      cleanups++;
      return new Promise<void>(() => undefined); // the agent "dies" before this ends
    },
  });
  const first = newAgent(store, hanging);
  await first.agent.recover();
  await first.agent.start();
  first.launch();
  await until(() => first.updates.some((u) => u.state === 'TASK_RUNNING'));
  exit({ exitCode: 0, signal: null, finishedAt: Date.now() });
  await until(() => first.updates.some((u) => u.state === 'TASK_FINISHED'));
  assert.equal(cleanups, 1, 'the cleanup started, and the update went out while it was still running');
  await first.agent.stop();

  let recovered = 0;
  const second = newAgent(store, { ...hanging, cleanup: async () => void recovered++ });
  await second.agent.recover();
  assert.equal(recovered, 1, 'the restarted agent releases what the first one left');
  await second.agent.stop();

  // Once cleaned, a later restart leaves the ended task alone.
  const third = newAgent(store, { ...hanging, cleanup: async () => void recovered++ });
  await third.agent.recover();
  assert.equal(recovered, 1);
});

test('a task is checkpointed in two records; a one-record checkpoint from before the split is recovered', async () => {
  const store = new MemoryStore();
  const quiet = fakeContainerizer({
    recover: async () => ({ state: 'exited', status: { exitCode: 3, signal: null, finishedAt: Date.now() } }),
  });
  const first = newAgent(store, quiet);
  await first.agent.recover();
  await first.agent.start();
  first.launch();
  await until(() => first.updates.some((u) => u.state === 'TASK_RUNNING'));
  await first.agent.stop();
  const info = (await store.get<Record<string, unknown>>('agent/tasks/t1'))?.value;
  const state = (await store.get<{ status: TaskStatus; running_at?: number }>('agent/task-state/t1'))?.value;
  assert.equal((info?.task as { name: string }).name, 't');
  assert.equal(info?.status, undefined, 'the unchanging record holds no status');
  assert.equal(state?.status.state, 'TASK_RUNNING');
  assert.ok(state?.running_at, 'running_at is kept with the state');

  // The old layout: everything under agent/tasks/<id>.
  const legacy = new MemoryStore();
  await legacy.apply([
    { op: 'put', key: 'agent/id', value: 'a1' },
    {
      op: 'put',
      key: 'agent/tasks/t1',
      value: { ...info, ...state, status: { ...state!.status, state: 'TASK_RUNNING' } },
    },
  ]);
  const second = newAgent(legacy, quiet);
  await second.agent.recover();
  await second.agent.start();
  await until(() => second.updates.some((u) => u.state === 'TASK_FAILED'));
  assert.equal(second.updates.find((u) => u.state === 'TASK_FAILED')?.exit_code, 3);
  await second.agent.stop();
});

test('an agent that stopped while launching reports the task running once it finds the supervisor alive', async () => {
  const store = new MemoryStore();
  const launching = fakeContainerizer({
    launch: () => new Promise<void>(() => undefined), // the agent stops before the launch returns
    recover: async () => ({ state: 'running', pid: 1234 }),
  });
  const first = newAgent(store, launching);
  await first.agent.recover();
  await first.agent.start();
  first.launch();
  await until(() => first.updates.some((u) => u.state === 'TASK_STARTING'));
  await first.agent.stop();
  assert.ok(!first.updates.some((u) => u.state === 'TASK_RUNNING'));

  const second = newAgent(store, launching);
  await second.agent.recover();
  await second.agent.start();
  await until(() => second.updates.some((u) => u.state === 'TASK_RUNNING'));
  const state = (await store.get<{ running_at?: number }>('agent/task-state/t1'))?.value;
  await second.agent.stop();
  assert.ok(state?.running_at, 'running_at is recorded');
});
