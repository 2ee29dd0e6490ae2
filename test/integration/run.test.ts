/**
 * The walking skeleton end to end: `berth up` with real runc, and the CLI as a user runs it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { canUseRunc, Cluster } from './harness.js';

const skip = canUseRunc();

describe('berth run on runc', { skip }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await Cluster.start();
    await cluster.importBusybox();
  });
  after(() => cluster?.destroy());

  test('images lists the imported image', async () => {
    const r = await cluster.cli(['images']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+SIZE\s+CREATED/m);
    assert.match(r.stdout, /^busybox\s+latest\s+[0-9a-f]{12}\s+\S+B\s+\d+ seconds? ago/m);
  });

  test('nodes lists the one agent', async () => {
    const r = await cluster.cli(['nodes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+HOSTNAME\s+ADDRESS\s+CPUS\s+MEM\s+DISK\s+STATE/m);
    assert.equal(r.stdout.trim().split('\n').length, 2);
    assert.match(r.stdout, /ACTIVE/);
  });

  test('output streams to the terminal, stdout and stderr apart', async () => {
    const r = await cluster.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo hello; echo oops >&2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.stderr, 'oops\n');
  });

  test('the exit code propagates', async () => {
    const r = await cluster.cli(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3);
  });

  test('the task is PID 1 and its hostname is the task id', async () => {
    const r = await cluster.cli(['run', '--name', 'whoami', 'busybox', 'sh', '-c', 'echo $$; hostname']);
    assert.equal(r.code, 0, r.stderr);
    const [pid, hostname] = r.stdout.trim().split('\n');
    assert.equal(pid, '1');
    const ps = await cluster.cli(['ps', '-a']);
    const row = ps.stdout.split('\n').find((l) => /\swhoami\s/.test(l));
    assert.ok(row, ps.stdout);
    assert.ok(hostname && hostname.endsWith(row.split(/\s+/)[0]!), `hostname ${hostname} is the task id`);
    assert.notEqual(hostname, (await import('node:os')).hostname());
  });

  test('the memory limit shows in the container cgroup', async () => {
    const r = await cluster.cli([
      'run',
      '--rm',
      '--mem',
      '48M',
      'busybox',
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(48 * 1024 * 1024));
  });

  test('env and working directory reach the task', async () => {
    const r = await cluster.cli([
      'run',
      '--rm',
      '-e',
      'GREETING=hi there',
      '-w',
      '/tmp',
      'busybox',
      'sh',
      '-c',
      'echo "$GREETING from $(pwd)"',
    ]);
    assert.equal(r.stdout, 'hi there from /tmp\n', r.stderr);
  });

  test('--rm removes the sandbox; without it logs stay readable after exit', async () => {
    const kept = await cluster.cli(['run', '-d', 'busybox', 'sh', '-c', 'echo kept']);
    const keptId = kept.stdout.trim();
    const gone = await cluster.cli(['run', '--rm', '--name', 'gone', 'busybox', 'true']);
    assert.equal(gone.code, 0, gone.stderr);
    const ps = await cluster.cli(['ps', '-a']);
    const goneId = ps.stdout
      .split('\n')
      .find((l) => /\sgone\s/.test(l))
      ?.split(/\s+/)[0];
    assert.ok(goneId);
    const sandboxes = join(cluster.home, 'agent', 'sandboxes');
    const goneDir = (await import('node:fs')).readdirSync(sandboxes).find((d) => d.endsWith(goneId));
    assert.equal(goneDir, undefined, 'the --rm sandbox is gone');
    let logs = await cluster.cli(['logs', keptId]);
    for (let i = 0; i < 50 && logs.stdout !== 'kept\n'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = await cluster.cli(['logs', keptId]);
    }
    assert.equal(logs.stdout, 'kept\n');
    assert.ok(existsSync(join(sandboxes, keptId, 'stdout')));
  });

  test('-d detaches; logs -f follows; kill sends SIGTERM, then SIGKILL after the grace', async () => {
    const d = await cluster.cli([
      'run',
      '-d',
      '--name',
      'looper',
      'busybox',
      'sh',
      '-c',
      'trap "echo bye; exit 0" TERM; echo up; while true; do sleep 0.1; done',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    assert.match(id, /^[0-9a-z]{18}$/);
    const follow = cluster.cli(['logs', '-f', 'looper']);
    await new Promise((r) => setTimeout(r, 500));
    const running = await cluster.cli(['ps']);
    assert.match(running.stdout, /looper.*RUNNING/);
    const k = await cluster.cli(['kill', '-t', '5', 'looper']);
    assert.equal(k.code, 0, k.stderr);
    const followed = await follow;
    assert.equal(followed.stdout, 'up\nbye\n');
    const stubborn = await cluster.cli(['run', '-d', 'busybox', 'sleep', '100']);
    const stubbornId = stubborn.stdout.trim();
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await cluster.cli(['kill', '-t', '1', stubbornId]);
    let state = '';
    while (Date.now() - started < 10_000 && !/KILLED/.test(state)) {
      state =
        (await cluster.cli(['ps', '-a'])).stdout
          .split('\n')
          .find((l) => l.startsWith(stubbornId.slice(-12))) ?? '';
    }
    assert.match(state, /KILLED\s+\S+\s+.*137$/, 'PID 1 ignores SIGTERM, so SIGKILL ends it: 128+9');
  });

  test('bad input gets one clear line and a non-zero exit', async () => {
    const unknown = await cluster.cli(['run', 'no-such-image', 'true']);
    assert.notEqual(unknown.code, 0);
    assert.equal(unknown.stderr.trim().split('\n').length, 1);
    assert.match(unknown.stderr, /^berth: image "no-such-image:latest" not found/);
    const mem = await cluster.cli(['run', '--mem', 'lots', 'busybox', 'true']);
    assert.equal(mem.code, 64);
    assert.equal(mem.stderr, 'berth: bad memory size "lots": use a number with a unit, e.g. 64M or 1G\n');
    const missing = await cluster.cli(['image', 'import', '/no/such/dir', 'x']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^berth: .*\/no\/such\/dir/);
    assert.doesNotMatch(unknown.stderr + mem.stderr + missing.stderr, /\n\s+at /, 'no stack traces');
  });
});
