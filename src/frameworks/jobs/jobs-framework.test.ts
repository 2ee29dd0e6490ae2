/**
 * The jobs controller on a real in-process master with hollow agents; the controller's clock is a
 * FakeClock, so schedules are driven by hand. Fakes only at the real boundaries: the clock and the
 * containerizer (hollow tasks).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../core/clock.js';
import { parseResources } from '../../core/resources.js';
import { localAgentLink, localSchedulerTransport, Master } from '../../master/index.js';
import { HollowCluster, parseTaskDuration } from '../../sim/index.js';
import { MemoryStore, type StateStore } from '../../store/index.js';
import { JobsFramework } from './jobs-framework.js';
import { parseJobSpec } from './spec.js';
import type { JobRun } from './types.js';

interface Env {
  master: Master;
  store: MemoryStore;
  cluster: HollowCluster;
  framework(clock: FakeClock, store?: StateStore): Promise<JobsFramework>;
}

async function withMaster(taskDuration: string, body: (env: Env) => Promise<void>): Promise<void> {
  const store = new MemoryStore();
  const master = new Master({ store, allocationIntervalMs: 20 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents: 2,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:4;mem:4096'),
    duration: parseTaskDuration(taskDuration),
    heartbeatSeconds: 1,
  });
  const keepAlive = setInterval(() => undefined, 1000);
  const frameworks: JobsFramework[] = [];
  try {
    await cluster.start();
    await body({
      master,
      store,
      cluster,
      async framework(clock, own) {
        const fw = new JobsFramework({
          store: own ?? store,
          clock,
          transport: () => localSchedulerTransport(master),
        });
        frameworks.push(fw);
        await fw.start();
        return fw;
      },
    });
  } finally {
    clearInterval(keepAlive);
    for (const fw of frameworks) fw.stop();
    await cluster.stop();
    await master.stop();
    await store.close();
  }
}

async function until<T>(what: string, check: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
const ended = (fw: JobsFramework, run: JobRun): JobRun | undefined => {
  const r = fw.getRun(run.id);
  return r.state !== 'ACTIVE' ? r : undefined;
};

test('a Job runs completions tasks, parallelism at a time, on real offers', async () => {
  await withMaster('20ms', async (env) => {
    const fw = await env.framework(new FakeClock(at('2026-01-01T00:00:00Z')));
    await fw.put(parseJobSpec({ id: 'batch', command: 'true', completions: 30, parallelism: 4 }));
    const run = fw.startRun('batch');
    const done = await until('the run to end', () => ended(fw, run));
    assert.equal(done.state, 'SUCCEEDED');
    assert.equal(done.succeeded, 30);
    assert.equal(fw.runView(run.id).tasks.length, 30);
    assert.equal(env.cluster.containerizer.launched, 30);

    // A job in another role: the framework subscribes again with that role too, and the job runs in it.
    await fw.put(parseJobSpec({ id: 'etl', command: 'true', role: 'etl' }));
    const etl = fw.startRun('etl');
    assert.equal((await until('the etl run to end', () => ended(fw, etl))).state, 'SUCCEEDED');
    const framework = env.master.listFrameworks().find((f) => f.name === 'jobs');
    assert.deepEqual(framework?.roles, ['batch', 'etl']);
    assert.equal(framework.active, true);
  });
});

test('CronJob on a fake clock: fires at 01:30 Berlin time every day across the DST change', async () => {
  await withMaster('10ms', async (env) => {
    const clock = new FakeClock(at('2026-03-27T12:00:00Z'));
    const fw = await env.framework(clock);
    await fw.put(
      parseJobSpec({
        kind: 'CronJob',
        id: 'berlin',
        schedule: '30 1 * * *',
        timeZone: 'Europe/Berlin',
        successfulJobsHistoryLimit: 10,
        command: 'true',
      }),
    );
    for (let day = 0; day < 4; day++) {
      clock.advance(24 * 3600_000);
      const runs = fw.listRuns('berlin');
      assert.equal(runs.length, day + 1);
      await until('the run to end', () => ended(fw, runs[0]!));
    }
    const times = fw
      .listRuns('berlin')
      .map((r) => iso(r.scheduledAt))
      .reverse();
    // 01:30 CET is 00:30 UTC; from 29 March on, 01:30 CEST is 23:30 UTC the day before.
    assert.deepEqual(times, [
      '2026-03-28T00:30:00.000Z',
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T23:30:00.000Z',
      '2026-03-30T23:30:00.000Z',
    ]);
    assert.ok(fw.listRuns('berlin').every((r) => r.createdAt === r.scheduledAt && r.trigger === 'schedule'));
  });
});

test('Forbid skips a run while one is active; Replace kills the active run and starts the new one', async () => {
  await withMaster('forever', async (env) => {
    const clock = new FakeClock(at('2026-01-01T00:00:30Z'));
    const fw = await env.framework(clock);
    const doc = {
      kind: 'CronJob',
      id: 'minutely',
      schedule: '* * * * *',
      command: 'sleep 1000',
      concurrencyPolicy: 'Forbid',
    };
    await fw.put(parseJobSpec(doc));
    clock.advance(30_000);
    const [first] = fw.listRuns('minutely');
    assert.ok(first);
    await until('the first run to be running', () => fw.runView(first.id).tasks[0]?.state === 'TASK_RUNNING');
    clock.advance(60_000);
    assert.equal(fw.listRuns('minutely').length, 1, 'Forbid: no second run');
    assert.equal(fw.view('minutely').schedule?.skipped, 1);

    await fw.put(parseJobSpec({ ...doc, concurrencyPolicy: 'Replace' }));
    clock.advance(60_000);
    const runs = fw.listRuns('minutely');
    assert.equal(runs.length, 2);
    const replaced = fw.getRun(first.id);
    assert.equal(replaced.state, 'FAILED');
    assert.match(replaced.reason ?? '', new RegExp(`^Stopped: replaced by run ${runs[0]!.id}`));
    assert.equal(runs[0]!.state, 'ACTIVE');
    await until(
      'the replaced task to be killed',
      () => fw.runView(first.id).tasks[0]?.state === 'TASK_KILLED',
    );
    await until(
      'the new run to be running',
      () => fw.runView(runs[0]!.id).tasks[0]?.state === 'TASK_RUNNING',
    );
    assert.equal(env.cluster.containerizer.running, 1);
  });
});

test('missed runs respect the starting deadline after a simulated restart', async () => {
  await withMaster('10ms', async (env) => {
    const clock = new FakeClock(at('2026-01-01T01:30:00Z'));
    const before = await env.framework(clock);
    for (const [id, deadline] of [
      ['near', 600],
      ['far', 60],
    ] as const)
      await before.put(
        parseJobSpec({
          kind: 'CronJob',
          id,
          schedule: '0 * * * *',
          startingDeadlineSeconds: deadline,
          command: 'true',
        }),
      );
    before.stop();
    await before.flush();
    // Down from 01:30 to 05:05: 02:00, 03:00, 04:00 and 05:00 passed.
    const after = await env.framework(new FakeClock(at('2026-01-01T05:05:00Z')));
    const near = after.listRuns('near');
    assert.equal(near.length, 1, '05:00 is 5 minutes late, within 10: it starts');
    assert.equal(iso(near[0]!.scheduledAt), '2026-01-01T05:00:00.000Z');
    assert.equal(after.view('near').schedule?.missed, 3);
    assert.equal(after.listRuns('far').length, 0, '05:00 is 5 minutes late, past 1: missed');
    assert.equal(after.view('far').schedule?.missed, 4);
    await until('the caught-up run to end', () => ended(after, near[0]!));
  });
});

test('a DAG runs C only after A and B succeed, and a cycle is refused', async () => {
  await withMaster('10ms', async (env) => {
    const clock = new FakeClock(at('2026-01-01T00:00:00Z'));
    const fw = await env.framework(clock);
    // A forgets its runs at once: its success still counts for C.
    await fw.put(parseJobSpec({ id: 'a', command: 'true', ttlSecondsAfterFinished: 0 }));
    await fw.put(parseJobSpec({ id: 'b', command: 'true' }));
    await fw.put(parseJobSpec({ id: 'c', command: 'true', after: ['a', 'b'] }));
    const a = fw.startRun('a');
    await until('a to end and be forgotten', () => (fw.listRuns('a').length === 0 ? true : undefined));
    assert.throws(() => fw.getRun(a.id), /not found/);
    assert.equal(fw.listRuns('c').length, 0, 'C waits for B');
    const b = fw.startRun('b');
    const bDone = await until('b to end', () => ended(fw, b));
    const [c] = await until('c to start', () => (fw.listRuns('c').length > 0 ? fw.listRuns('c') : undefined));
    assert.equal(c!.trigger, 'dependency');
    assert.ok(c!.createdAt >= bDone.finishedAt!);
    await assert.rejects(
      fw.put(parseJobSpec({ id: 'a', command: 'true', after: ['c'] })),
      /after: dependency cycle a → c → a/,
    );
  });
});

test('a restarted framework reconciles its running tasks and launches none twice', async () => {
  await withMaster('forever', async (env) => {
    const clock = new FakeClock(at('2026-01-01T00:00:00Z'));
    const before = await env.framework(clock);
    await before.put(parseJobSpec({ id: 'long', command: 'sleep 1000', completions: 3, parallelism: 3 }));
    const run = before.startRun('long');
    await until('3 tasks running', () =>
      before.runView(run.id).tasks.filter((t) => t.state === 'TASK_RUNNING').length === 3 ? true : undefined,
    );
    before.stop();
    await before.flush();
    const after = await env.framework(clock);
    await until('the tasks to be reconciled as running', () =>
      after.runView(run.id).tasks.every((t) => t.state === 'TASK_RUNNING') ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(after.runView(run.id).tasks.length, 3);
    assert.equal(env.cluster.containerizer.launched, 3, 'no task was launched again');
    after.stopRun(run.id);
    await until('the tasks to be killed', () =>
      after.runView(run.id).tasks.every((t) => t.state === 'TASK_KILLED') ? true : undefined,
    );
    assert.equal(after.getRun(run.id).reason, 'Stopped: stopped by the user');
  });
});

test('ttlSecondsAfterFinished removes a finished run from memory and the store', async () => {
  await withMaster('10ms', async (env) => {
    const clock = new FakeClock(at('2026-01-01T00:00:00Z'));
    const fw = await env.framework(clock);
    await fw.put(parseJobSpec({ id: 'short-lived', command: 'true', ttlSecondsAfterFinished: 60 }));
    const run = fw.startRun('short-lived');
    await until('the run to end', () => ended(fw, run));
    clock.advance(59_000);
    assert.equal(fw.listRuns('short-lived').length, 1);
    clock.advance(2_000);
    assert.equal(fw.listRuns('short-lived').length, 0);
    await fw.flush();
    assert.equal((await env.store.list(`frameworks/jobs/runs/`)).length, 0);
    assert.equal((await env.store.list(`frameworks/jobs/tasks/${run.id}/`)).length, 0);
  });
});

test('a task whose record cannot be written is not launched until it can be', async () => {
  await withMaster('10ms', async (env) => {
    let failing = true;
    const store = new MemoryStore();
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'apply')
          return (ops: Parameters<StateStore['apply']>[0], options?: Parameters<StateStore['apply']>[1]) =>
            failing && ops.some((op) => op.op === 'put' && op.key.startsWith('frameworks/jobs/tasks/'))
              ? Promise.reject(new Error('disk full'))
              : target.apply(ops, options);
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const fw = await env.framework(new FakeClock(at('2026-01-01T00:00:00Z')), flaky);
    await fw.put(parseJobSpec({ id: 'careful', command: 'true', completions: 2, parallelism: 2 }));
    const run = fw.startRun('careful');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      env.cluster.containerizer.launched,
      0,
      'nothing launched while its record cannot be written',
    );
    assert.ok(fw.runView(run.id).tasks.every((t) => t.state === 'PENDING'));
    failing = false;
    const done = await until('the run to end', () => ended(fw, run));
    assert.equal(done.state, 'SUCCEEDED');
    assert.equal(env.cluster.containerizer.launched, 2);
    assert.equal((await store.list(`frameworks/jobs/tasks/${run.id}/`)).length, 2);
  });
});

test('a task too big for any offer waits without holding up smaller ones', async () => {
  await withMaster('10ms', async (env) => {
    const fw = await env.framework(new FakeClock(at('2026-01-01T00:00:00Z')));
    await fw.put(parseJobSpec({ id: 'huge', command: 'true', resources: { cpus: 100 } }));
    await fw.put(parseJobSpec({ id: 'small', command: 'true', completions: 3 }));
    const huge = fw.startRun('huge');
    const small = fw.startRun('small');
    assert.equal((await until('the small run to end', () => ended(fw, small))).state, 'SUCCEEDED');
    assert.equal(fw.getRun(huge.id).state, 'ACTIVE');
    assert.equal(fw.runView(huge.id).tasks[0]?.state, 'PENDING');
    await until('a reason to show', () => fw.runView(huge.id).waiting);
    assert.match(fw.runView(huge.id).waiting ?? '', /cpus/);
  });
});
