/**
 * Ended tasks are kept up to a bound (--max-completed-tasks-per-framework): more short tasks than the bound
 * leave only the newest in the master's listing, in the run framework's records, and after a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { Cluster, eventually, getJson } from './harness.js';

interface Listed {
  id: string;
  state: string;
}

test('only the newest ended tasks are kept, also across a restart', async (t) => {
  const cluster = await Cluster.start(['--runtime', 'process', '--max-completed-tasks-per-framework', '3']);
  t.after(() => cluster.destroy());
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await request(`${cluster.url}/v1/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['true'], mem: 16, cpus: 0.01 }),
    });
    assert.equal(res.statusCode, 201);
    const { id } = (await res.body.json()) as { id: string };
    ids.push(id);
    await eventually(
      async () => {
        const task = await getJson<Listed>(`${cluster.url}/v1/run/${id}`);
        return task.state === 'TASK_FINISHED' ? task : undefined;
      },
      30_000,
      `run ${i} to finish`,
    );
  }
  const newest = ids.slice(-3).sort();
  const listed = async (): Promise<{ master: string[]; run: string[] }> => ({
    master: (await getJson<{ tasks: Listed[] }>(`${cluster.url}/api/v1/tasks?all=true`)).tasks
      .map((task) => task.id)
      .sort(),
    run: (await getJson<{ tasks: Listed[] }>(`${cluster.url}/v1/run`)).tasks.map((task) => task.id).sort(),
  });
  // The last acknowledgement arrives just after the run framework records the update.
  const before = await eventually(
    async () => {
      const now = await listed();
      return now.master.length === 3 ? now : undefined;
    },
    10_000,
    'the master to keep 3 ended tasks',
  );
  assert.deepEqual(before, { master: newest, run: newest });
  const ps = await cluster.cli(['ps', '-a']);
  assert.equal(ps.code, 0, ps.stderr);
  for (const id of ids.slice(0, 4)) assert.ok(!ps.stdout.includes(id.slice(-6)), `${id} is forgotten`);

  assert.equal(await cluster.down(), 0);
  await cluster.up();
  assert.deepEqual(await listed(), { master: newest, run: newest }, 'a restart reloads only the kept ones');
});
