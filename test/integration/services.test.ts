/**
 * Services on a real `berth up` with runc and real HTTP health checks: bad specs create nothing, `plan` on an
 * unplaceable spec explains why, a rolling upgrade of 4 instances never drops below the minimum (a poller
 * hits every instance during the upgrade), an upgrade whose health check fails rolls back without ever
 * killing all old instances, kill -9 of an instance is healed with backoff, and scaling.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentView, QueueEntry, ServiceView } from '../../src/frameworks/services/types.js';
import { canUseRunc, Cluster, eventually, getJson, pageOf } from './harness.js';

interface Task {
  id: string;
  state: string;
  version: string;
  endpoints: string[];
}

function webSpec(
  id: string,
  opts: { instances: number; version: string; path?: string; extra?: string },
): string {
  return `kind: Service
id: ${id}
image: busybox
instances: ${opts.instances}
env:
  VERSION: "${opts.version}"
command: >-
  mkdir -p /www && echo "version $VERSION $BERTH_TASK_ID" > /www/index.html && exec httpd -f -p $PORT0 -h /www
resources:
  cpus: 0.2
  mem: 32
  ports: 1
healthChecks:
  - protocol: HTTP
    path: ${opts.path ?? '/'}
    gracePeriodSeconds: 15
    intervalSeconds: 2
    timeoutSeconds: 3
    maxConsecutiveFailures: 3
${opts.extra ?? ''}`;
}

/** True when the endpoint answers 200 within a second. */
const isServing = async (endpoint: string): Promise<boolean> => (await pageOf(endpoint)) !== undefined;

/** The pids whose command line contains `text` (the instances' httpd processes). */
function pidsWith(text: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (
        readFileSync(join('/proc', name, 'cmdline'), 'utf8')
          .split('\0')
          .join(' ')
          .includes(text)
      )
        out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('services on runc', { skip: canUseRunc() }, () => {
  let cluster: Cluster;
  const file = (name: string, text: string): string => {
    const path = join(cluster.home, name);
    writeFileSync(path, text);
    return path;
  };
  const tasks = (id: string): Promise<Task[]> =>
    getJson<{ tasks: Task[] }>(`${cluster.url}/v2/apps${id}/tasks`).then((r) => r.tasks);
  const app = (id: string): Promise<ServiceView> =>
    getJson<{ app: ServiceView }>(`${cluster.url}/v2/apps${id}`).then((r) => r.app);

  before(async () => {
    cluster = await Cluster.start(['--resources', 'cpus:4;mem:4096;ports:[41000-41099]']);
    await cluster.importBusybox('busybox:latest');
  });
  after(async () => {
    if (!cluster) return;
    await cluster.destroy();
  });

  test('bad specs get one line naming the field, and nothing is created', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        webSpec('/bad', { instances: 1, version: '1' }).replace('instances: 1', 'instances: many'),
        /instances: must be a number/,
      ],
      [
        webSpec('/bad', { instances: 1, version: '1' }).replace('instances: 1', 'instances: -2'),
        /instances: must be >= 0/,
      ],
      [
        webSpec('/bad', { instances: 1, version: '1', extra: 'constraints:\n  - [hostname, SOMETIMES]\n' }),
        /constraints\[0\]/,
      ],
      [
        `${webSpec('/dup', { instances: 1, version: '1' })}---\n${webSpec('/dup', { instances: 1, version: '1' })}`,
        /duplicate id/,
      ],
    ];
    for (const [i, [spec, error]] of cases.entries()) {
      const r = await cluster.cli(['apply', '-f', file(`bad${i}.yaml`, spec)]);
      assert.equal(r.code, 64, `case ${i}: ${r.stderr}`);
      assert.match(r.stderr, error, `case ${i}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `case ${i}: one line`);
    }
    const { apps } = await getJson<{ apps: ServiceView[] }>(`${cluster.url}/v2/apps`);
    assert.deepEqual(apps, []);
  });

  test('plan on an unplaceable spec gives per-constraint reasons and creates nothing', async () => {
    const spec = webSpec('/unique', {
      instances: 2,
      version: '1',
      extra: 'constraints:\n  - [hostname, UNIQUE]\n',
    });
    const r = await cluster.cli(['plan', '-f', file('unique.yaml', spec)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /instance 0: \S+ ports \d+/);
    assert.match(r.stdout, /instance 1: not placed: .*UNIQUE/);
    const { apps } = await getJson<{ apps: ServiceView[] }>(`${cluster.url}/v2/apps`);
    assert.deepEqual(apps, []);
  });

  test('a rolling upgrade of 4 instances stays at or above the minimum healthy at every sample', async () => {
    const strategy = 'upgradeStrategy:\n  minimumHealthCapacity: 0.75\n  maximumOverCapacity: 0.25\n';
    const first = await cluster.cli([
      'apply',
      '-f',
      file('web1.yaml', webSpec('/web', { instances: 4, version: '1', extra: strategy })),
      '--wait',
      '--timeout',
      '90',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const before = await tasks('/web');
    assert.equal(before.length, 4);
    let sampling = true;
    const samples: number[] = [];
    const poller = (async () => {
      while (sampling) {
        const all = await tasks('/web').catch(() => []);
        const ok = await Promise.all(all.flatMap((t) => t.endpoints.slice(0, 1)).map(isServing));
        samples.push(ok.filter(Boolean).length);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const upgrade = await cluster.cli([
      'apply',
      '-f',
      file('web2.yaml', webSpec('/web', { instances: 4, version: '2', extra: strategy })),
      '--wait',
      '--timeout',
      '120',
    ]);
    sampling = false;
    await poller;
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.ok(samples.length >= 5, `only ${samples.length} samples`);
    assert.ok(Math.min(...samples) >= 3, `healthy fell below 3: ${samples.join(',')}`);
    const afterUpgrade = await tasks('/web');
    const view = await app('/web');
    assert.ok(
      afterUpgrade.every((t) => t.version === view.version),
      'all instances run the new version',
    );
    assert.ok(
      afterUpgrade.every((t) => !before.some((b) => b.id === t.id)),
      'every old instance was replaced',
    );
  });

  test('scale down and up', async () => {
    const down = await cluster.cli(['scale', '/web', '2', '--wait']);
    assert.equal(down.code, 0, down.stderr);
    await eventually(
      async () => ((await tasks('/web')).length === 2 ? true : undefined),
      30_000,
      '2 instances',
    );
    const up = await cluster.cli(['scale', '/web', '3', '--wait']);
    assert.equal(up.code, 0, up.stderr);
    const list = await cluster.cli(['services']);
    assert.match(list.stdout, /\/web\s+3\s+3\s+3\s/);
  });

  test('kill -9 of an instance: it is replaced, with backoff shown in the queue', async () => {
    const spec = webSpec('/heal', { instances: 1, version: '1', extra: 'backoff:\n  seconds: 5\n' });
    const r = await cluster.cli(['apply', '-f', file('heal.yaml', spec), '--wait', '--timeout', '60']);
    assert.equal(r.code, 0, r.stderr);
    const [victim] = await tasks('/heal');
    const port = victim!.endpoints[0]!.split(':').pop()!;
    const pids = pidsWith(`httpd -f -p ${port}`);
    assert.equal(pids.length, 1, `one httpd on port ${port}`);
    process.kill(pids[0]!, 'SIGKILL');
    const queued = await eventually(
      async () => {
        const { queue } = await getJson<{ queue: QueueEntry[] }>(`${cluster.url}/v2/queue`);
        return queue.find((q) => q.serviceId === '/heal' && /backoff/i.test(q.reason));
      },
      20_000,
      'backoff in the queue',
    );
    assert.ok(queued.waiting >= 1);
    const replaced = await eventually(
      async () => {
        const now = await tasks('/heal');
        return now.length === 1 && now[0]!.id !== victim!.id && now[0]!.state === 'TASK_RUNNING'
          ? now[0]
          : undefined;
      },
      40_000,
      'a replacement instance',
    );
    assert.ok(
      await eventually(
        async () => ((await isServing(replaced.endpoints[0]!)) ? true : undefined),
        20_000,
        'the replacement answers',
      ),
    );
  });

  test('an upgrade whose health check fails stalls, fails at its deadline and rolls back; old instances stay', async () => {
    const extra =
      'progressDeadlineSeconds: 20\nautoRollback: true\nupgradeStrategy:\n  minimumHealthCapacity: 0.5\n  maximumOverCapacity: 0.5\n';
    const good = await cluster.cli([
      'apply',
      '-f',
      file('ar1.yaml', webSpec('/ar', { instances: 2, version: '1', extra })),
      '--wait',
      '--timeout',
      '60',
    ]);
    assert.equal(good.code, 0, good.stderr);
    const goodVersion = (await app('/ar')).version;
    let sampling = true;
    const oldRunning: number[] = [];
    const poller = (async () => {
      while (sampling) {
        const all = await tasks('/ar').catch(() => undefined);
        if (all)
          oldRunning.push(all.filter((t) => t.version === goodVersion && t.state === 'TASK_RUNNING').length);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const bad = await cluster.cli([
      'apply',
      '-f',
      file('ar2.yaml', webSpec('/ar', { instances: 2, version: '2', path: '/missing', extra })),
      '--wait',
      '--timeout',
      '90',
    ]);
    assert.match(bad.stdout, /update deployment \S+ started/, bad.stderr);
    assert.notEqual(bad.code, 0, 'the failed deployment is a non-zero exit');
    assert.match(bad.stderr, /failed/);
    await eventually(
      async () => {
        const deployments = await getJson<DeploymentView[]>(`${cluster.url}/v2/deployments`);
        const view = await app('/ar');
        const running = deployments.some((d) => d.serviceId === '/ar' && d.state === 'running');
        return !running && view.spec.env.VERSION === '1' ? true : undefined;
      },
      60_000,
      'the rollback to version 1 to finish',
    );
    sampling = false;
    await poller;
    assert.ok(
      Math.min(...oldRunning) >= 1,
      `all old instances were killed at some point: ${oldRunning.join(',')}`,
    );
    const now = await tasks('/ar');
    assert.equal(now.filter((t) => t.state === 'TASK_RUNNING').length, 2);
  });
});
