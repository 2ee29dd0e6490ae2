/** The agent's side of checks: what it reports for each verdict, the kill, and when checks stop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskStatus } from '../../api/mesos.js';
import { MemoryStore } from '../../store/index.js';
import type { ExitStatus } from '../../runtime/index.js';
import { Agent } from '../agent.js';
import type { TaskContainerizer } from '../containerizer.js';
import { fakeMasterLink } from '../test-support.js';
import type { CheckListener, CheckTarget, TaskChecker } from './checker.js';

function harness() {
  const { link, updates, launch } = fakeMasterLink();
  const kills: string[] = [];
  let exit: ((status: ExitStatus) => void) | undefined;
  const containerizer: TaskContainerizer = {
    launch: async () => undefined,
    wait: () => new Promise<ExitStatus>((resolve) => (exit = resolve)),
    kill: async (_task, _sandbox, signal) => {
      kills.push(signal);
      exit?.({ exitCode: null, signal, finishedAt: Date.now() });
    },
    recover: async () => ({ state: 'lost', message: 'no' }),
    cleanup: async () => undefined,
    remove: async () => undefined,
  };
  const started: CheckTarget[] = [];
  let listener: CheckListener | undefined;
  let stopped = 0;
  const checker: TaskChecker = {
    start(target, l) {
      started.push(target);
      listener = l;
      return { stop: () => stopped++ };
    },
  };
  const agent = new Agent({
    store: new MemoryStore(),
    link,
    containerizer,
    checker,
    workDir: '/nonexistent-berth-test',
    resources: [],
    heartbeatSeconds: 0,
  });
  return {
    agent,
    updates,
    kills,
    started,
    launch,
    listener: () => listener!,
    stopped: () => stopped,
    exit: (status: ExitStatus) => exit?.(status),
  };
}

/** Lets the agent's turns run, and the fake master's timers (SUBSCRIBED comes on a timer, as over HTTP). */
const settle = async () => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};
const brief = (s: TaskStatus) => [s.state, s.healthy, s.reason, s.check_status?.http?.status_code, s.message];

test('verdicts become TASK_RUNNING updates; too many failures kill with the message and healthy: false', async () => {
  const h = harness();
  await h.agent.start();
  h.launch({
    health_check: { type: 'HTTP', http: { port: 8080 } },
    check: { type: 'HTTP', http: { port: 8080 } },
    kill_policy: { grace_period: { nanoseconds: 0 } },
  });
  await settle();
  assert.equal(h.started.length, 1, 'checks start once the task runs');
  assert.equal(typeof h.started[0]?.startedAt, 'number');
  h.listener().healthChanged(true);
  await settle();
  h.listener().checkChanged({ type: 'HTTP', http: { status_code: 200 } });
  await settle();
  h.listener().healthChanged(false);
  await settle();
  h.listener().unhealthy('health check failed 3 times: HTTP GET :8080/: connection refused');
  await settle();
  h.listener().healthChanged(true); // too late: ignored
  await settle();
  assert.deepEqual(h.kills, ['SIGKILL']);
  assert.deepEqual(h.updates.map(brief), [
    ['TASK_STARTING', undefined, undefined, undefined, undefined],
    ['TASK_RUNNING', undefined, undefined, undefined, undefined],
    ['TASK_RUNNING', true, 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', undefined, undefined],
    ['TASK_RUNNING', true, 'REASON_TASK_CHECK_STATUS_UPDATED', 200, undefined],
    ['TASK_RUNNING', false, 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', 200, undefined],
    [
      'TASK_KILLED',
      false,
      undefined,
      200,
      'health check failed 3 times: HTTP GET :8080/: connection refused',
    ],
  ]);
  assert.ok(h.stopped() >= 1, 'checks stop');
  await h.agent.stop();
});

test('a task without checks starts none; a task that ends stops its checks', async () => {
  const h = harness();
  await h.agent.start();
  h.launch({});
  await settle();
  assert.equal(h.started.length, 0);
  const h2 = harness();
  await h2.agent.start();
  h2.launch({ health_check: { type: 'TCP', tcp: { port: 1 } } });
  await settle();
  h2.exit({ exitCode: 0, signal: null, finishedAt: Date.now() });
  await settle();
  assert.equal(h2.stopped(), 1);
  assert.equal(h2.updates.at(-1)?.state, 'TASK_FINISHED');
  h2.listener().healthChanged(true); // after the end: ignored
  await settle();
  assert.equal(h2.updates.at(-1)?.state, 'TASK_FINISHED');
  await h.agent.stop();
  await h2.agent.stop();
});
