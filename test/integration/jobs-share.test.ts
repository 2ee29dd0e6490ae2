/**
 * Batch and services on one cluster (issue 6): a service in role `services` with a quota guarantee runs
 * while a burst of 200 short jobs arrives in role `batch`. The service keeps its instances and its
 * guarantee throughout; the burst gets what is left and completes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canUseRunc, Cluster, eventually } from './harness.js';

const skip = canUseRunc();

interface RoleView {
  name: string;
  allocated: Array<{ name: string; scalar?: { value: number } }>;
}
const cpusOf = (role: RoleView | undefined): number =>
  (role?.allocated ?? []).filter((r) => r.name === 'cpus').reduce((n, r) => n + (r.scalar?.value ?? 0), 0);

describe('services and jobs share one cluster', { skip }, () => {
  let cluster: Cluster;
  const get = async <T>(path: string): Promise<T> => (await (await fetch(cluster.url + path)).json()) as T;

  before(async () => {
    cluster = await Cluster.start(['--resources', 'cpus:4;mem:4096']);
  });
  after(async () => {
    // The service's host tasks outlive `berth up` (as they should): remove the service first.
    if (cluster?.url) {
      await fetch(`${cluster.url}/v2/apps/steady`, { method: 'DELETE' }).catch(() => undefined);
      await eventually(
        async () => {
          const { apps } = await get<{ apps: Array<{ spec: { id: string } }> }>('/v2/apps');
          return apps.some((a) => a.spec.id === '/steady') ? undefined : true;
        },
        30_000,
        'the service to be removed',
      ).catch((err: unknown) => console.error(String(err)));
    }
    await cluster?.destroy();
  });

  test('a burst of 200 short jobs next to a service: quota and weights hold, and the burst completes', async (t) => {
    for (const args of [
      ['quota', 'set', 'services', 'cpus:1;mem:512'],
      ['weight', 'set', 'batch', '1'],
      ['weight', 'set', 'services', '1'],
    ]) {
      const r = await cluster.cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const file = join(cluster.home, 'share.yaml');
    writeFileSync(
      file,
      [
        'kind: Service',
        'id: /steady',
        'role: services',
        'instances: 4',
        'command: sleep 1000',
        'resources: { cpus: 0.25, mem: 64 }',
        '---',
        'kind: Job',
        'id: burst',
        // Half a second each: long enough that a 100 ms sampler of the roles sees batch's share
        // (a burst of `true` could start and end between two samples), short enough to be a burst.
        "command: 'sleep 0.5'",
        'completions: 200',
        'parallelism: 200',
        'resources: { cpus: 0.1, mem: 16 }',
        '',
      ].join('\n'),
    );
    const apply = await cluster.cli(['apply', '-f', file]);
    assert.equal(apply.code, 0, apply.stderr);
    await eventually(
      async () => {
        const { apps } = await get<{ apps: Array<{ spec: { id: string }; counts: { running: number } }> }>(
          '/v2/apps',
        );
        return apps.find((a) => a.spec.id === '/steady')?.counts.running === 4 ? true : undefined;
      },
      60_000,
      'the service to run 4 instances',
    );

    const run = (await (await fetch(`${cluster.url}/v1/jobs/burst/runs`, { method: 'POST' })).json()) as {
      id: string;
    };
    let servicesMin = Infinity;
    let batchMax = 0;
    let serviceRunningMin = Infinity;
    let state = 'ACTIVE';
    const deadline = Date.now() + 100_000;
    while (state === 'ACTIVE') {
      assert.ok(Date.now() < deadline, 'the burst finishes in time');
      const { roles } = await get<{ roles: RoleView[] }>('/api/v1/roles');
      servicesMin = Math.min(servicesMin, cpusOf(roles.find((r) => r.name === 'services')));
      batchMax = Math.max(batchMax, cpusOf(roles.find((r) => r.name === 'batch')));
      const { apps } = await get<{ apps: Array<{ spec: { id: string }; counts: { running: number } }> }>(
        '/v2/apps',
      );
      serviceRunningMin = Math.min(
        serviceRunningMin,
        apps.find((a) => a.spec.id === '/steady')?.counts.running ?? 0,
      );
      state = (await get<{ state: string }>(`/v1/runs/${run.id}`)).state;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.diagnostic(
      `services min ${servicesMin} cpus, batch max ${batchMax} cpus, service instances min ${serviceRunningMin}`,
    );
    const done = await get<{ state: string; succeeded: number }>(`/v1/runs/${run.id}`);
    assert.equal(done.state, 'SUCCEEDED');
    assert.equal(done.succeeded, 200);
    assert.equal(serviceRunningMin, 4, 'the service never lost an instance');
    assert.ok(servicesMin >= 1 - 1e-9, `services kept its 1-cpu guarantee (min seen ${servicesMin})`);
    assert.ok(batchMax > 1, `batch got a share of what was left (max seen ${batchMax} cpus)`);
    assert.ok(batchMax <= 3 + 1e-9, `batch never took the service's guarantee (max seen ${batchMax} cpus)`);
  });
});
