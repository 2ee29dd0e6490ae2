/**
 * Health checks, readiness checks and the URI fetcher on a real `berth up` with runc: a small framework
 * on the SDK launches tasks with checks and records every status update it gets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import type { Offer, TaskInfo, TaskStatus } from '../../src/api/mesos.js';
import { scalar, scalarOf } from '../../src/core/resources.js';
import { HttpSchedulerTransport, SchedulerClient } from '../../src/sdk/index.js';
import { canUseRunc, Cluster, eventually } from './harness.js';

const BUSYBOX = {
  type: 'MESOS' as const,
  mesos: { image: { type: 'DOCKER' as const, docker: { name: 'busybox' } } },
};
const ONE_SECOND_KILL = { grace_period: { nanoseconds: 1e9 } };

/** A port nothing listens on now (from the kernel's ephemeral range, so no other test's agent hands it out). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A test framework: launches queued tasks on the next offers and records each task's updates. */
class Recorder {
  readonly updates = new Map<string, TaskStatus[]>();
  /** Calls the master refused: shown when a wait times out. */
  readonly errors: string[] = [];
  private readonly queue: Array<Omit<TaskInfo, 'agent_id'>> = [];
  readonly client: SchedulerClient;

  /** With `id`: subscribes again as that framework (after a restart of berth). */
  constructor(master: string, id?: string) {
    this.client = new SchedulerClient({
      transport: new HttpSchedulerTransport({ master }),
      // Survives a restart of berth: the tasks stay while the framework is away.
      framework: {
        name: 'checks-test',
        roles: ['*'],
        failover_timeout: 3600,
        ...(id ? { id: { value: id } } : {}),
      },
      reconcileIntervalMs: 0,
      handlers: {
        offers: (offers) => this.onOffers(offers),
        update: (status) => {
          const list = this.updates.get(status.task_id.value) ?? [];
          list.push(status);
          this.updates.set(status.task_id.value, list);
        },
      },
    });
  }

  private async onOffers(offers: Offer[]): Promise<void> {
    for (const offer of offers) {
      const tasks: TaskInfo[] = [];
      let cpus = scalarOf(offer.resources, 'cpus');
      let mem = scalarOf(offer.resources, 'mem');
      while (this.queue.length > 0 && cpus >= 0.1 && mem >= 32) {
        tasks.push({ ...this.queue.shift()!, agent_id: offer.agent_id });
        cpus -= 0.1;
        mem -= 32;
      }
      try {
        if (tasks.length > 0) await this.client.launch([offer.id.value], tasks, 0);
        else await this.client.decline([offer.id.value], 1);
      } catch (err) {
        this.errors.push(String(err));
      }
    }
  }

  async launch(task: Omit<TaskInfo, 'agent_id' | 'resources' | 'name'>): Promise<string> {
    this.queue.push({
      name: task.task_id.value,
      resources: [scalar('cpus', 0.1), scalar('mem', 32)],
      ...task,
    });
    await this.client.revive();
    return task.task_id.value;
  }

  /** Waits for the first update of the task that `match` accepts, and returns it. */
  waitFor(taskId: string, match: (s: TaskStatus) => boolean, ms: number, what: string): Promise<TaskStatus> {
    return eventually(async () => this.updates.get(taskId)?.find(match), ms, what).catch((err: unknown) => {
      const seen = JSON.stringify(this.updates.get(taskId)?.map(brief));
      throw new Error(`${String(err)}; updates: ${seen}; refused calls: ${this.errors.join('; ')}`);
    });
  }
}

const brief = (s: TaskStatus) => ({
  state: s.state,
  healthy: s.healthy,
  check: s.check_status,
  reason: s.reason,
  message: s.message,
});
const terminal = (s: TaskStatus) => !['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(s.state);
let serial = 0;
const taskId = (name: string) => ({ value: `${name}-${process.pid}-${++serial}` });

describe('agent checks and fetcher on real runc', { skip: canUseRunc() }, () => {
  let cluster: Cluster;
  let fw: Recorder;
  let files = '';

  before(async () => {
    cluster = await Cluster.start();
    await cluster.importBusybox();
    fw = new Recorder(cluster.url);
    await fw.client.subscribe();
    files = mkdtempSync(join(tmpdir(), 'berth-checks-'));
  });
  after(async () => {
    fw?.client.close();
    await cluster?.destroy();
    rmSync(files, { recursive: true, force: true });
  });

  test('a busybox httpd turns healthy through its HTTP check; a TCP check on it too', async () => {
    const port = await freePort();
    const serve = `mkdir -p /www && echo ok > /www/health && exec httpd -f -p ${port} -h /www`;
    const timing = { delay_seconds: 0, interval_seconds: 1, timeout_seconds: 2, grace_period_seconds: 20 };
    const http = await fw.launch({
      task_id: taskId('httpd'),
      command: { value: serve },
      container: BUSYBOX,
      kill_policy: ONE_SECOND_KILL,
      health_check: { type: 'HTTP', http: { port, path: '/health' }, ...timing },
    });
    const healthy = await fw.waitFor(http, (s) => s.healthy === true, 60_000, 'healthy');
    assert.equal(healthy.state, 'TASK_RUNNING');
    assert.equal(healthy.reason, 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');
    const tcp = await fw.launch({
      task_id: taskId('tcp'),
      command: { value: 'sleep 300' },
      container: BUSYBOX,
      kill_policy: ONE_SECOND_KILL,
      health_check: { type: 'TCP', tcp: { port }, ...timing },
    });
    await fw.waitFor(tcp, (s) => s.healthy === true && s.state === 'TASK_RUNNING', 60_000, 'TCP healthy');
    const healthUpdates = (fw.updates.get(http) ?? []).filter((s) => s.reason?.includes('HEALTH'));
    assert.deepEqual(
      healthUpdates.map((s) => s.healthy),
      [true],
      'one update per change of health',
    );
    await fw.client.kill(http);
    await fw.client.kill(tcp);
    const killed = await fw.waitFor(http, terminal, 30_000, 'httpd killed');
    assert.equal(killed.state, 'TASK_KILLED');
    assert.equal(killed.healthy, true, 'the last verdict rides along');
  });

  test('a task whose health check fails is killed after N failures, with the message', async () => {
    const port = await freePort();
    const id = await fw.launch({
      task_id: taskId('unhealthy'),
      command: { value: 'sleep 300' },
      container: BUSYBOX,
      kill_policy: ONE_SECOND_KILL,
      health_check: {
        type: 'HTTP',
        http: { port, path: '/health' },
        delay_seconds: 0,
        interval_seconds: 1,
        timeout_seconds: 2,
        grace_period_seconds: 0,
        consecutive_failures: 3,
      },
    });
    const end = await fw.waitFor(id, terminal, 60_000, 'killed by its health check');
    assert.deepEqual([end.state, end.healthy], ['TASK_KILLED', false]);
    assert.equal(end.message, `health check failed 3 times: HTTP GET :${port}/health: connection refused`);
    const running = (fw.updates.get(id) ?? []).filter((s) => s.state === 'TASK_RUNNING');
    assert.deepEqual(
      running.map((s) => s.healthy),
      [undefined, false],
    );
  });

  test('a command check runs inside the container', async () => {
    const marker = `/tmp/berth-ready-${process.pid}-${Date.now()}`;
    const id = await fw.launch({
      task_id: taskId('command'),
      command: { value: `touch ${marker}; sleep 300` },
      container: BUSYBOX,
      kill_policy: ONE_SECOND_KILL,
      // The marker exists only in the container's file system, and the check sees the task's env.
      health_check: {
        type: 'COMMAND',
        command: { value: `test -f ${marker} && test "$BERTH_TASK_ID" = "$(hostname)"` },
        delay_seconds: 0,
        interval_seconds: 1,
        grace_period_seconds: 30,
      },
    });
    const healthy = await fw.waitFor(id, (s) => s.healthy !== undefined, 60_000, 'command check result');
    assert.equal(healthy.healthy, true);
    await fw.client.kill(id);
    await fw.waitFor(id, terminal, 30_000, 'killed');
  });

  test('a readiness check reports each change of its result in check_status', async () => {
    const port = await freePort();
    const serve = `mkdir -p /www; (sleep 3; echo yes > /www/ready) & exec httpd -f -p ${port} -h /www`;
    const id = await fw.launch({
      task_id: taskId('ready'),
      command: { value: serve },
      container: BUSYBOX,
      kill_policy: ONE_SECOND_KILL,
      check: { type: 'HTTP', http: { port, path: '/ready' }, delay_seconds: 0, interval_seconds: 1 },
    });
    await fw.waitFor(id, (s) => s.check_status?.http?.status_code === 200, 60_000, 'ready');
    const codes = (fw.updates.get(id) ?? [])
      .filter((s) => s.reason === 'REASON_TASK_CHECK_STATUS_UPDATED')
      .map((s) => s.check_status?.http?.status_code);
    assert.equal(codes.at(-1), 200);
    assert.ok(codes.includes(404), `a 404 before the page exists: ${JSON.stringify(codes)}`);
    for (let i = 1; i < codes.length; i++)
      assert.notEqual(codes[i], codes[i - 1], 'only changes are reported');
    await fw.client.kill(id);
    await fw.waitFor(id, terminal, 30_000, 'killed');
  });

  test('a host task runs a script from a tar.gz URI; MESOS_SANDBOX is its sandbox', async () => {
    const pack = tarStream.pack();
    pack.entry(
      { name: 'app/run.sh', mode: 0o755 },
      '#!/bin/sh\necho "from the tarball in $MESOS_SANDBOX"\ncat ./app/data\n',
    );
    pack.entry({ name: 'app/data', mode: 0o644 }, 'payload\n');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const archive = join(files, 'app.tar.gz');
    writeFileSync(archive, gzipSync(Buffer.concat(chunks)));
    const id = await fw.launch({
      task_id: taskId('tarball'),
      command: { value: './app/run.sh', uris: [{ value: archive }] },
    });
    const end = await fw.waitFor(id, terminal, 60_000, 'finished');
    assert.equal(end.state, 'TASK_FINISHED', end.message);
    const logs = await cluster.cli(['logs', id]);
    assert.match(logs.stdout, /^from the tarball in \/.+\/sandboxes\/tarball-[^\n]+\npayload\n$/);
  });

  test('an image task finds its URI under MESOS_SANDBOX; a bad URI fails the launch naming it', async () => {
    writeFileSync(join(files, 'hello.txt'), 'hello from the host\n');
    const id = await fw.launch({
      task_id: taskId('image-uri'),
      command: {
        value: 'echo "$MESOS_SANDBOX"; cat "$MESOS_SANDBOX/hello.txt"',
        uris: [{ value: join(files, 'hello.txt') }],
      },
      container: BUSYBOX,
    });
    const end = await fw.waitFor(id, terminal, 60_000, 'finished');
    assert.equal(end.state, 'TASK_FINISHED', end.message);
    assert.equal((await cluster.cli(['logs', id])).stdout, '/mnt/mesos/sandbox\nhello from the host\n');
    const missing = join(files, 'missing.tar.gz');
    const bad = await fw.launch({
      task_id: taskId('bad-uri'),
      command: { value: 'true', uris: [{ value: missing }] },
    });
    const failed = await fw.waitFor(bad, terminal, 60_000, 'failed');
    assert.equal(failed.state, 'TASK_FAILED');
    assert.equal(failed.message, `fetching ${missing} failed: no such file`);
  });

  // Last: it restarts berth, and the framework above does not come back.
  test('checks resume after berth restarts: the new agent kills a task that turned unhealthy', async () => {
    const flag = join(files, 'down');
    const id = await fw.launch({
      task_id: taskId('survivor'),
      command: { value: 'sleep 300' },
      kill_policy: ONE_SECOND_KILL,
      health_check: {
        type: 'COMMAND',
        command: { value: `test ! -e ${flag}` },
        delay_seconds: 0,
        interval_seconds: 1,
        grace_period_seconds: 0,
        consecutive_failures: 2,
      },
    });
    await fw.waitFor(id, (s) => s.healthy === true, 60_000, 'healthy');
    fw.client.close();
    assert.equal(await cluster.down(), 0);
    writeFileSync(flag, ''); // while berth is down: no checks run
    await cluster.up();
    // The framework comes back; the agent's updates since the restart reach it in order.
    fw = new Recorder(cluster.url, fw.client.id);
    await fw.client.subscribe();
    const end = await fw.waitFor(id, terminal, 90_000, 'the task killed after the restart');
    assert.deepEqual([end.state, end.healthy], ['TASK_KILLED', false]);
    assert.equal(
      end.message,
      `health check failed 2 times: command "test ! -e ${flag}": exited with status 1`,
    );
  });
});
