/**
 * Services on a real `berth up` with runc: a blue/green upgrade (a full new set, then the switch), and a
 * restart of `berth up` in the middle of a rolling deployment, which then continues to the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentView, ServiceView } from '../../src/frameworks/services/types.js';
import { canUseRunc, Cluster, eventually, getJson, pageOf } from './harness.js';

interface Task {
  id: string;
  state: string;
  version: string;
  endpoints: string[];
}

function spec(id: string, version: string, strategy: string): string {
  return `kind: Service
id: ${id}
image: busybox
instances: 2
env:
  VERSION: "${version}"
command: >-
  mkdir -p /www && echo "version $VERSION" > /www/index.html && exec httpd -f -p $PORT0 -h /www
resources:
  cpus: 0.2
  mem: 32
  ports: 1
healthChecks:
  - protocol: HTTP
    gracePeriodSeconds: 15
    intervalSeconds: 2
    timeoutSeconds: 3
${strategy}`;
}

describe('service upgrades on runc', { skip: canUseRunc() }, () => {
  let cluster: Cluster;
  const file = (name: string, text: string): string => {
    const path = join(cluster.home, name);
    writeFileSync(path, text);
    return path;
  };
  const tasks = (id: string): Promise<Task[]> =>
    getJson<{ tasks: Task[] }>(`${cluster.url}/v2/apps${id}/tasks`).then((r) => r.tasks);

  before(async () => {
    cluster = await Cluster.start(['--resources', 'cpus:4;mem:4096;ports:[41100-41199]']);
    await cluster.importBusybox('busybox:latest');
  });
  after(async () => {
    if (!cluster) return;
    await cluster.destroy();
  });

  test('blue/green: the new set starts in full and is healthy before the old set stops', async () => {
    const bg = 'upgradeStrategy:\n  type: blueGreen\n';
    const first = await cluster.cli([
      'apply',
      '-f',
      file('bg1.yaml', spec('/bg', '1', bg)),
      '--wait',
      '--timeout',
      '60',
    ]);
    assert.equal(first.code, 0, first.stderr);
    let sampling = true;
    const samples: Array<{ total: number; v1: number; v2: number }> = [];
    const poller = (async () => {
      while (sampling) {
        const all = await tasks('/bg').catch(() => []);
        const pages = await Promise.all(all.flatMap((t) => t.endpoints.slice(0, 1)).map(pageOf));
        samples.push({
          total: all.length,
          v1: pages.filter((p) => p === 'version 1').length,
          v2: pages.filter((p) => p === 'version 2').length,
        });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const upgrade = await cluster.cli([
      'apply',
      '-f',
      file('bg2.yaml', spec('/bg', '2', bg)),
      '--wait',
      '--timeout',
      '90',
    ]);
    sampling = false;
    await poller;
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.ok(
      samples.every((s) => s.total <= 4),
      `never more than both sets: ${JSON.stringify(samples)}`,
    );
    assert.ok(
      samples.every((s) => s.v1 + s.v2 >= 2),
      `always a full set answering: ${JSON.stringify(samples)}`,
    );
    assert.ok(
      samples.some((s) => s.v1 === 2 && s.v2 === 2),
      'both full sets ran side by side at some point',
    );
    const final = await tasks('/bg');
    const pages = await Promise.all(final.map((t) => pageOf(t.endpoints[0]!)));
    assert.deepEqual(pages, ['version 2', 'version 2']);
  });

  test('a restart of berth up in the middle of a rolling deployment: the deployment continues', async () => {
    const rolling = 'upgradeStrategy:\n  minimumHealthCapacity: 0.5\n  maximumOverCapacity: 0\n';
    const first = await cluster.cli([
      'apply',
      '-f',
      file('r1.yaml', spec('/roll', '1', rolling)),
      '--wait',
      '--timeout',
      '60',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const started = await cluster.cli(['apply', '-f', file('r2.yaml', spec('/roll', '2', rolling))]);
    assert.equal(started.code, 0, started.stderr);
    const id = /deployment (\S+) started/.exec(started.stdout)?.[1];
    assert.ok(id, started.stdout);
    await eventually(
      async () => {
        const d = (await getJson<DeploymentView[]>(`${cluster.url}/v2/deployments`)).find((x) => x.id === id);
        return d &&
          d.state === 'running' &&
          (await tasks('/roll')).some((t) => t.version !== (d.fromVersion ?? ''))
          ? d
          : undefined;
      },
      30_000,
      'the deployment under way',
    );
    assert.equal(await cluster.down(), 0);
    await cluster.up();
    const done = await eventually(
      async () => {
        const d = (await getJson<DeploymentView[]>(`${cluster.url}/v2/deployments`)).find((x) => x.id === id);
        return d && d.state !== 'running' ? d : undefined;
      },
      90_000,
      'the deployment to end after the restart',
    ).catch(async (err: unknown) => {
      const show = await cluster.cli(['service', 'show', '/roll']);
      const deployments = await cluster.cli(['deployments']);
      throw new Error(`${(err as Error).message}\n${show.stdout}\n${deployments.stdout}`);
    });
    assert.equal(done.state, 'succeeded', done.message);
    const view = await getJson<{ app: ServiceView }>(`${cluster.url}/v2/apps/roll`).then((r) => r.app);
    const final = await tasks('/roll');
    assert.equal(final.length, 2);
    assert.ok(final.every((t) => t.version === view.version));
    const pages = await eventually(
      async () => {
        const now = await Promise.all((await tasks('/roll')).map((t) => pageOf(t.endpoints[0] ?? '')));
        return now.length === 2 && now.every((p) => p === 'version 2') ? now : undefined;
      },
      20_000,
      'both instances to serve version 2',
    ).catch(async (err: unknown) => {
      const show = await cluster.cli(['service', 'show', '/roll']);
      throw new Error(`${(err as Error).message}\n${show.stdout}`);
    });
    assert.deepEqual(pages, ['version 2', 'version 2']);
  });
});
