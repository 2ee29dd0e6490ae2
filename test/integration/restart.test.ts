/** State survives a restart of `berth up`: images, task history, and tasks that kept running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseRunc, Cluster } from './harness.js';

test('images, task history and running tasks survive a restart', { skip: canUseRunc() }, async (t) => {
  const cluster = await Cluster.start();
  t.after(() => cluster.destroy());
  await cluster.importBusybox();
  const done = await cluster.cli([
    'run',
    '--name',
    'before',
    'busybox',
    'sh',
    '-c',
    'echo from before; exit 4',
  ]);
  assert.equal(done.code, 4);
  const long = await cluster.cli([
    'run',
    '-d',
    '--name',
    'survivor',
    'busybox',
    'sh',
    '-c',
    'sleep 2; echo still here',
  ]);
  assert.equal(long.code, 0, long.stderr);
  await new Promise((r) => setTimeout(r, 500));

  assert.equal(await cluster.down(), 0, 'SIGTERM stops berth cleanly');
  await cluster.up();

  const images = await cluster.cli(['images']);
  assert.match(images.stdout, /^busybox\s+latest/m);
  const ps = await cluster.cli(['ps', '-a']);
  assert.match(ps.stdout, /before .*FAILED.*4$/m);
  const follow = await cluster.cli(['logs', '-f', 'survivor']);
  assert.equal(follow.stdout, 'still here\n', 'the task ran on while berth was down');
  let state = '';
  for (let i = 0; i < 50 && !/FINISHED/.test(state); i++) {
    state = (await cluster.cli(['ps', '-a'])).stdout.split('\n').find((l) => l.includes('survivor')) ?? '';
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(state, /survivor .*FINISHED.*0$/);
  const logs = await cluster.cli(['logs', 'before']);
  assert.equal(logs.stdout, 'from before\n');
});
