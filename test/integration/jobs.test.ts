/**
 * The jobs framework end to end on a real `berth up`: runs to completion under parallelism, retries with
 * backoff, deadlines, stop, a DAG, bad specs, the busybox image, and a restart in the middle of a run.
 * Host tasks (`sh -c`, no image) keep most tests fast.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canUseRunc, Cluster, eventually } from './harness.js';

const skip = canUseRunc();

interface Task {
  id: string;
  state: string;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  logs: string;
}
interface Run {
  id: string;
  jobId: string;
  state: 'ACTIVE' | 'SUCCEEDED' | 'FAILED';
  reason?: string;
  createdAt: number;
  finishedAt?: number;
  succeeded: number;
  failed: number;
  tasks: Task[];
}

describe('jobs on berth up', { skip }, () => {
  let cluster: Cluster;
  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(cluster.url + path, {
      method,
      ...(body !== undefined
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
        : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const putJob = async (doc: Record<string, unknown>): Promise<void> => {
    const r = await api<{ message?: string }>('PUT', `/v1/jobs/${String(doc.id)}`, doc);
    assert.ok(r.status === 200 || r.status === 201, `${r.status} ${JSON.stringify(r.body)}`);
  };
  const startRun = async (id: string): Promise<Run> => {
    const r = await api<Run>('POST', `/v1/jobs/${id}/runs`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  const finished = (runId: string, ms = 60_000): Promise<Run> =>
    eventually(
      async () => {
        const r = await api<Run>('GET', `/v1/runs/${runId}`);
        return r.body.state !== 'ACTIVE' ? r.body : undefined;
      },
      ms,
      `run ${runId} to end`,
    );

  before(async () => {
    cluster = await Cluster.start();
  });
  after(() => cluster?.destroy());

  test('completions 5, parallelism 2: never more than 2 at once, and 5 complete', async () => {
    await putJob({ kind: 'Job', id: 'par', command: 'sleep 1', completions: 5, parallelism: 2 });
    const run = await finished((await startRun('par')).id);
    assert.equal(run.state, 'SUCCEEDED', run.reason);
    assert.equal(run.succeeded, 5);
    assert.equal(run.tasks.length, 5);
    // At every task's start, count the tasks running then (from the run's own task timestamps).
    for (const t of run.tasks) {
      assert.ok(t.startedAt && t.finishedAt, JSON.stringify(t));
      const overlapping = run.tasks.filter(
        (o) => o.startedAt! <= t.startedAt! && o.finishedAt! > t.startedAt!,
      );
      assert.ok(overlapping.length <= 2, `${overlapping.length} tasks ran at once`);
    }
    const maxAtOnce = Math.max(
      ...run.tasks.map(
        (t) => run.tasks.filter((o) => o.startedAt! <= t.startedAt! && o.finishedAt! > t.startedAt!).length,
      ),
    );
    assert.equal(maxAtOnce, 2, 'parallelism 2 is used');
  });

  test('a task that fails twice and then succeeds ends Succeeded (berth job run --wait)', async () => {
    const counter = join(cluster.home, 'flaky-counter');
    await putJob({
      kind: 'Job',
      id: 'flaky',
      command: `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo attempt $n; [ $n -ge 3 ]`,
      backoffLimit: 3,
    });
    const r = await cluster.cli(['job', 'run', 'flaky', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'attempt 1\nattempt 2\nattempt 3\n');
    const runs = await api<Run[]>('GET', '/v1/jobs/flaky/runs');
    assert.equal(runs.body[0]?.state, 'SUCCEEDED');
    assert.equal(runs.body[0]?.failed, 2);
  });

  test('past backoffLimit the run ends Failed with the reason, and --wait exits with the task code', async () => {
    await putJob({ kind: 'Job', id: 'doomed', command: 'echo no; exit 7', backoffLimit: 1 });
    const r = await cluster.cli(['job', 'run', 'doomed', '--wait']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /failed: BackoffLimitExceeded: 2 tasks failed, backoffLimit is 1/);
    const runs = await cluster.cli(['job', 'runs', 'doomed']);
    assert.match(runs.stdout, /FAILED\s+manual.*BackoffLimitExceeded/);
  });

  test('activeDeadlineSeconds kills a run and marks it failed with the reason', async () => {
    await putJob({ kind: 'Job', id: 'slow', command: 'sleep 60', activeDeadlineSeconds: 2 });
    const started = Date.now();
    const run = await finished((await startRun('slow')).id, 30_000);
    assert.equal(run.state, 'FAILED');
    assert.match(run.reason ?? '', /^DeadlineExceeded: .*activeDeadlineSeconds \(2 s\)/);
    assert.ok(Date.now() - started < 20_000);
    const task = await eventually(
      async () => {
        const r = await api<Run>('GET', `/v1/runs/${run.id}`);
        const t = r.body.tasks[0];
        return t && t.state !== 'TASK_RUNNING' ? t : undefined;
      },
      20_000,
      'the task to be killed',
    );
    assert.equal(task.state, 'TASK_KILLED');
  });

  test('berth job stop stops a run; berth job logs prints its output', async () => {
    await putJob({ kind: 'Job', id: 'stoppable', command: 'echo started; sleep 60' });
    const run = await startRun('stoppable');
    await eventually(
      async () =>
        (await api<Run>('GET', `/v1/runs/${run.id}`)).body.tasks[0]?.state === 'TASK_RUNNING'
          ? true
          : undefined,
      20_000,
      'the task to run',
    );
    const stop = await cluster.cli(['job', 'stop', run.id]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /FAILED: Stopped: stopped by the user/);
    const logs = await cluster.cli(['job', 'logs', run.id]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, 'started\n');
  });

  test('a DAG: C runs after A and B succeed, never before, and not when B fails', async () => {
    const flag = join(cluster.home, 'b-may-succeed');
    await putJob({ kind: 'Job', id: 'dag-a', command: 'true' });
    await putJob({ kind: 'Job', id: 'dag-b', command: `[ -f ${flag} ]`, restartPolicy: 'Never' });
    await putJob({ kind: 'Job', id: 'dag-c', command: 'echo c', after: ['dag-a', 'dag-b'] });
    const a = await finished((await startRun('dag-a')).id);
    assert.equal(a.state, 'SUCCEEDED');
    const b1 = await finished((await startRun('dag-b')).id);
    assert.equal(b1.state, 'FAILED');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      (await api<Run[]>('GET', '/v1/jobs/dag-c/runs')).body,
      [],
      'C did not run after B failed',
    );
    writeFileSync(flag, '');
    const b2 = await finished((await startRun('dag-b')).id);
    assert.equal(b2.state, 'SUCCEEDED');
    const c = await eventually(
      async () => (await api<Run[]>('GET', '/v1/jobs/dag-c/runs')).body[0],
      20_000,
      'C to start',
    );
    assert.ok(c.createdAt >= b2.finishedAt! && c.createdAt >= a.finishedAt!, 'C started after A and B');
    assert.equal((await finished(c.id)).state, 'SUCCEEDED');
  });

  test('bad specs get one clear line and nothing is created', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { kind: 'CronJob', id: 'bad-cron', command: 'true', schedule: '* * *' },
        /^schedule: bad cron expression "\* \* \*"/,
      ],
      [
        { kind: 'CronJob', id: 'bad-tz', command: 'true', schedule: '0 * * * *', timeZone: 'Mars/Olympus' },
        /^timeZone: unknown time zone "Mars\/Olympus"/,
      ],
    ];
    for (const [doc, re] of cases)
      for (const dryRun of ['true', 'false']) {
        const r = await api<{ message: string }>('PUT', `/v1/jobs/${String(doc.id)}?dryRun=${dryRun}`, doc);
        assert.equal(r.status, 400);
        assert.match(r.body.message, re);
        assert.equal((await api('GET', `/v1/jobs/${String(doc.id)}`)).status, 404);
      }
    await putJob({ kind: 'Job', id: 'cyc-x', command: 'true', after: ['cyc-y'] });
    for (const dryRun of ['true', 'false']) {
      const r = await api<{ message: string }>('PUT', `/v1/jobs/cyc-y?dryRun=${dryRun}`, {
        kind: 'Job',
        id: 'cyc-y',
        command: 'true',
        after: ['cyc-x'],
      });
      assert.equal(r.status, 400);
      assert.equal(r.body.message, 'after: dependency cycle cyc-y → cyc-x → cyc-y');
      assert.equal((await api('GET', '/v1/jobs/cyc-y')).status, 404);
    }
    // A cycle made only of new jobs in one file: `berth apply` refuses the file and creates none of them.
    const file = join(cluster.home, 'cycle.yaml');
    writeFileSync(
      file,
      'kind: Job\nid: loop-a\ncommand: "true"\nafter: [loop-b]\n---\nkind: Job\nid: loop-b\ncommand: "true"\nafter: [loop-a]\n',
    );
    const applied = await cluster.cli(['apply', '-f', file]);
    assert.notEqual(applied.code, 0);
    assert.match(
      applied.stderr,
      /documents\[0\] \(Job loop-a\): after: dependency cycle loop-a → loop-b → loop-a/,
    );
    for (const id of ['loop-a', 'loop-b']) assert.equal((await api('GET', `/v1/jobs/${id}`)).status, 404);
    const dry = await api<{ created: boolean }>('PUT', '/v1/jobs/dry-only?dryRun=true', { command: 'true' });
    assert.equal(dry.status, 200);
    assert.equal((await api('GET', '/v1/jobs/dry-only')).status, 404, 'a dry run creates nothing');
  });

  test('a CronJob shows its next run; its schedule can be read and replaced', async () => {
    await putJob({
      kind: 'CronJob',
      id: 'nightly',
      command: 'true',
      schedule: '0 3 * * *',
      timeZone: 'Europe/Berlin',
    });
    const s = await api<Array<{ cron: string; timeZone: string; nextRunAt: string }>>(
      'GET',
      '/v1/jobs/nightly/schedules',
    );
    assert.equal(s.body[0]?.cron, '0 3 * * *');
    assert.match(s.body[0]?.nextRunAt ?? '', /T0[12]:00:00.000Z$/, '03:00 in Berlin is 01:00 or 02:00 UTC');
    const put = await api<Array<{ cron: string; concurrencyPolicy: string }>>(
      'PUT',
      '/v1/jobs/nightly/schedules',
      {
        cron: '*/5 * * * *',
        timezone: 'UTC',
        concurrencyPolicy: 'FORBID',
      },
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body[0]?.concurrencyPolicy, 'Forbid');
    const jobs = await cluster.cli(['jobs']);
    assert.match(
      jobs.stdout,
      /^nightly\s+CronJob\s+\*\/5 \* \* \* \*\s+-\s+-\s+-\s+in \d+ (seconds?|minutes?)/m,
    );
  });

  test('a job from the busybox image', async () => {
    await cluster.importBusybox();
    await putJob({
      kind: 'Job',
      id: 'boxed',
      image: 'busybox',
      command: ['sh', '-c', 'echo from $(hostname)'],
    });
    const r = await cluster.cli(['job', 'run', 'boxed', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^from \S+\n$/);
  });

  test('a run in progress when berth restarts finishes, and its task is not started twice', async () => {
    const marker = join(cluster.home, 'restart-starts');
    await putJob({ kind: 'Job', id: 'survivor', command: `echo x >> ${marker}; sleep 4` });
    const run = await startRun('survivor');
    await eventually(
      async () =>
        (await api<Run>('GET', `/v1/runs/${run.id}`)).body.tasks[0]?.state === 'TASK_RUNNING'
          ? true
          : undefined,
      20_000,
      'the task to run',
    );
    assert.equal(await cluster.down(), 0);
    await cluster.up();
    const done = await finished(run.id, 60_000);
    assert.equal(done.state, 'SUCCEEDED', done.reason);
    assert.equal(done.tasks.length, 1);
    assert.ok(existsSync(marker));
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(marker, 'utf8'), 'x\n', 'the task ran once');
  });
});
