/**
 * `berth commit` end to end on runc: a stopped task's and a running task's writable layers become
 * images whose containers see the changes, deletions included; a 3-layer chain with whiteouts and an
 * opaque directory runs; tag, history, inspect, rmi and prune behave.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseRunc, Cluster } from './harness.js';

const skip = canUseRunc();

describe('berth commit on runc', { skip }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await Cluster.start();
    await cluster.importBusybox();
  });
  after(() => cluster?.destroy());

  async function ok(args: string[]): Promise<string> {
    const r = await cluster.cli(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  test('a stopped task: new files, deletions and a re-made directory show in the image', async () => {
    await ok([
      'run',
      '--name',
      'c1',
      'busybox',
      'sh',
      '-c',
      'echo one > /etc/one; rm /etc/group; rm -rf /tmp; mkdir /tmp; echo t > /tmp/t',
    ]);
    const out = await ok(['commit', '-m', 'first change', 'c1', 'chain:2']);
    assert.match(out, /^chain:2 sha256:[0-9a-f]{64}$/m);
    await ok(['run', '--name', 'c2', 'chain:2', 'sh', '-c', 'rm /etc/one; echo two > /etc/two']);
    await ok(['commit', 'c2', 'chain:3']);
    const r = await cluster.cli(['run', '--rm', 'chain:3', 'sh', '-c', 'ls /etc; ls /tmp; cat /etc/two']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'passwd\ntwo\nt\ntwo\n');
    const inspect = JSON.parse(await ok(['inspect', 'chain:3'])) as Array<{
      manifest: { layers: unknown[] };
    }>;
    assert.equal(inspect[0]?.manifest.layers.length, 3, '3 layers');
  });

  test('history lists one line per layer with the commit message', async () => {
    const out = await ok(['history', 'chain:3']);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 4, out);
    assert.match(lines[2] ?? '', /berth commit .*first change/);
  });

  test('a running task can be committed', async () => {
    const id = (
      await ok(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live > /live; sleep 30'])
    ).trim();
    let found = false;
    for (let i = 0; i < 50 && !found; i++) {
      const r = await cluster.cli(['commit', id, 'live:1']);
      if (r.code === 0) {
        const run = await cluster.cli(['run', '--rm', 'live:1', 'cat', '/live']);
        found = run.stdout === 'live\n';
      }
      if (!found) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(found, 'the committed image has the running task change');
    const rmi = await cluster.cli(['rmi', 'busybox']);
    assert.notEqual(rmi.code, 0, 'rmi refuses an image a running task uses');
    assert.match(rmi.stderr, /used by a task/);
    await ok(['kill', '-t', '0', id]);
  });

  test('tag, rmi and prune', async () => {
    await ok(['tag', 'chain:3', 'other:1']);
    const list = await ok(['images']);
    assert.match(list, /^other\s+1\s/m);
    const untagged = await ok(['rmi', 'other:1', 'chain:3']);
    assert.match(untagged, /Untagged: other:1/);
    const prune = await ok(['image', 'prune', '--grace', '0']);
    assert.match(prune, /removed \d+ blobs/);
    const r = await cluster.cli(['run', '--rm', 'chain:2', 'cat', '/etc/one']);
    assert.equal(r.stdout, 'one\n', 'images still tagged keep working after a prune');
  });

  test('a task without a writable layer gives one clear line', async () => {
    const r = await cluster.cli(['commit', 'no-such-task', 'x:1']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
