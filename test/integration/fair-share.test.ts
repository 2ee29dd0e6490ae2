/**
 * Two-level scheduling under weights and quotas, with real frameworks on the HTTP scheduler API: each takes
 * one task per offer and hands the rest back, so the allocator's order decides who gets what.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Offer } from '../../src/api/mesos.js';
import type { RoleView } from '../../src/api/operator.js';
import { scalar, scalarOf } from '../../src/core/resources.js';
import { HttpSchedulerTransport, SchedulerClient } from '../../src/sdk/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthProcess, Cluster, eventually } from './harness.js';

/** A framework that wants `tasks` tasks of `cpus` each in `role`, launching one per offer. */
function greedy(
  master: string,
  role: string,
  cpus: number,
  tasks: number,
  command = 'sleep 120',
): SchedulerClient & { launched: () => number } {
  let launched = 0;
  const client: SchedulerClient = new SchedulerClient({
    transport: new HttpSchedulerTransport({ master }),
    framework: { name: `greedy-${role}`, roles: [role] },
    reconcileIntervalMs: 0,
    handlers: {
      offers: async (offers: Offer[]) => {
        for (const offer of offers) {
          if (
            launched < tasks &&
            scalarOf(offer.resources, 'cpus') >= cpus &&
            scalarOf(offer.resources, 'mem') >= 16
          ) {
            const id = `${role}-${launched++}-${Date.now()}`;
            const task = {
              name: id,
              task_id: { value: id },
              agent_id: offer.agent_id,
              resources: [scalar('cpus', cpus), scalar('mem', 16)],
              command: { value: command },
            };
            await client.launch([offer.id.value], [task], 0);
          } else await client.decline([offer.id.value], 0);
        }
      },
    },
  });
  return Object.assign(client, { launched: () => launched });
}

async function roles(master: string): Promise<Map<string, number>> {
  const res = await request(`${master}/api/v1/roles`);
  const body = (await res.body.json()) as { roles: RoleView[] };
  return new Map(body.roles.map((r) => [r.name, scalarOf(r.allocated, 'cpus')]));
}

async function post(master: string, path: string, body: unknown): Promise<void> {
  const res = await request(`${master}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.statusCode, 200, await res.body.text());
}

test('a quota guarantee is met against a greedy role, and its limit is never exceeded', async (t) => {
  const cluster = await Cluster.start(['--runtime', 'process', '--resources', 'cpus:8;mem:8192']);
  t.after(() => cluster.destroy());
  await post(cluster.url, '/api/v1/quota', {
    role: 'guaranteed',
    guarantees: [scalar('cpus', 3), scalar('mem', 256)],
    limits: [scalar('cpus', 4), scalar('mem', 1024)],
  });
  const hog = greedy(cluster.url, 'hog', 1, 100);
  t.after(() => hog.close());
  await hog.subscribe();
  await eventually(
    async () => (((await roles(cluster.url)).get('hog') ?? 0) >= 5 ? true : undefined),
    20_000,
    'the hog to take what is not guaranteed',
  );
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(((await roles(cluster.url)).get('hog') ?? 0) <= 5, 'the guarantee is held back from the hog');
  const quota = greedy(cluster.url, 'guaranteed', 1, 100);
  t.after(() => quota.close());
  await quota.subscribe();
  const held = await eventually(
    async () => {
      const r = await roles(cluster.url);
      return (r.get('guaranteed') ?? 0) >= 3 ? r : undefined;
    },
    20_000,
    'the guarantee to be met',
  );
  await new Promise((r) => setTimeout(r, 2000));
  const after = await roles(cluster.url);
  assert.ok((after.get('guaranteed') ?? 0) <= 4, `limit 4 cpus, holds ${after.get('guaranteed')}`);
  assert.ok((held.get('guaranteed') ?? 0) >= 3);
});

test('two roles with weights 1 and 3 share the cpus of three agents 1:3 over time', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'berth-weights-'));
  const env = { ...process.env, BERTH_HOME: home };
  const master = await new BerthProcess(['master', '--port', '0'], env).start();
  const agents: BerthProcess[] = [];
  t.after(async () => {
    for (const agent of agents) await agent.stop('SIGKILL');
    await master.stop('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });
  await post(master.url, '/api/v1/weights', { role: 'light', weight: 1 });
  await post(master.url, '/api/v1/weights', { role: 'heavy', weight: 3 });
  // Both frameworks subscribe before any agent joins, and take short tasks, so the cpus keep changing
  // hands and the allocator's weighted order decides each time.
  const light = greedy(master.url, 'light', 1, 10_000, 'sleep 2');
  const heavy = greedy(master.url, 'heavy', 1, 10_000, 'sleep 2');
  t.after(() => light.close());
  t.after(() => heavy.close());
  await light.subscribe();
  await heavy.subscribe();
  for (let i = 0; i < 3; i++)
    agents.push(
      await new BerthProcess(
        [
          'agent',
          '--port',
          '0',
          '--work-dir',
          join(home, `agent-${i}`),
          '--runtime',
          'process',
          '--resources',
          'cpus:4;mem:4096',
        ],
        { ...env, BERTH_MASTER: master.url },
      ).start(),
    );
  await eventually(
    async () => {
      const r = await roles(master.url);
      return (r.get('light') ?? 0) + (r.get('heavy') ?? 0) >= 12 ? true : undefined;
    },
    30_000,
    'all 12 cpus to be in use',
  );
  let lightSum = 0;
  let heavySum = 0;
  for (let i = 0; i < 16; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const r = await roles(master.url);
    lightSum += r.get('light') ?? 0;
    heavySum += r.get('heavy') ?? 0;
  }
  assert.ok(light.launched() > 3 && heavy.launched() > 9, 'tasks kept cycling');
  const ratio = heavySum / Math.max(lightSum, 1);
  assert.ok(
    ratio >= 2.4 && ratio <= 3.6,
    `heavy:light cpus ${heavySum}:${lightSum} (ratio ${ratio.toFixed(2)})`,
  );
});
