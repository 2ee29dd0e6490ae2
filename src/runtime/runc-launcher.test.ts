import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBerthError } from '../core/errors.js';
import { createLauncher, type LaunchSpec, type Launcher } from './index.js';
import { RUNC } from './runc-launcher.js';
import {
  buildBusyboxRootfs,
  containerFixture,
  launchFromDoomedAgent,
  makeTempDir,
  runcSkipReason,
} from './test-support.js';

const skip = runcSkipReason();
const MEM_MIB = 48;

describe('runc launcher', { skip }, () => {
  let work = '';
  let lower = '';
  let stateRoot = '';
  let launcher: Launcher;

  before(() => {
    work = makeTempDir('runc');
    lower = buildBusyboxRootfs(join(work, 'busybox'));
    stateRoot = join(work, 'state');
    launcher = createLauncher('runc', { stateRoot });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  async function container(
    t: TestContext,
    args: string[],
    overrides: Partial<LaunchSpec> = {},
  ): Promise<LaunchSpec> {
    const { id, sandbox, rootfs } = await containerFixture(t, lower, stateRoot);
    return { id, sandbox, rootfs, args, env: {}, resources: { cpus: 0.5, memMiB: MEM_MIB }, ...overrides };
  }
  const log = (spec: LaunchSpec): string => readFileSync(join(spec.sandbox, 'stdout'), 'utf8');
  const run = async (spec: LaunchSpec): Promise<ReturnType<Launcher['wait']>> => {
    await launcher.launch(spec);
    return launcher.wait(spec.id, spec.sandbox);
  };

  test('echo hello: stdout in the sandbox, exit 0', async (t) => {
    const spec = await container(t, ['echo', 'hello']);
    const status = await run(spec);
    assert.deepEqual([status.exitCode, status.signal], [0, null]);
    assert.equal(log(spec), 'hello\n');
  });

  test('exit 3 is exit code 3; stderr is logged', async (t) => {
    const spec = await container(t, ['sh', '-c', 'echo bad >&2; exit 3']);
    assert.equal((await run(spec)).exitCode, 3);
    assert.equal(readFileSync(join(spec.sandbox, 'stderr'), 'utf8'), 'bad\n');
  });

  test('the task is PID 1, hostname is the id, env and cwd apply, uid applies', async (t) => {
    const script = 'echo $$; hostname; echo "$GREETING"; pwd; id -u';
    const spec = await container(t, ['sh', '-c', script], {
      env: { GREETING: 'hi there' },
      cwd: '/tmp',
      user: { uid: 1234, gid: 1234 },
    });
    assert.equal((await run(spec)).exitCode, 0);
    assert.deepEqual(log(spec).split('\n'), ['1', spec.id, 'hi there', '/tmp', '1234', '']);
  });

  test("memory and cpu limits are visible in the container's cgroup", async (t) => {
    const script = [
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
      'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d" " -f1 /sys/fs/cgroup/cpu.max',
      'ulimit -n',
    ].join('; ');
    const spec = await container(t, ['sh', '-c', script]);
    assert.equal((await run(spec)).exitCode, 0);
    assert.deepEqual(log(spec).split('\n'), [String(MEM_MIB * 1024 * 1024), '50000', '1024', '']);
  });

  test('SIGTERM reaches a PID 1 that handles it', async (t) => {
    const spec = await container(t, [
      'sh',
      '-c',
      'trap "echo got-term; exit 7" TERM; echo ready; sleep 100 & wait',
    ]);
    await launcher.launch(spec);
    while (!log(spec).includes('ready')) await sleep(5);
    await launcher.kill(spec.id, spec.sandbox, 'SIGTERM');
    const status = await launcher.wait(spec.id, spec.sandbox);
    assert.equal(status.exitCode, 7);
    assert.equal(log(spec), 'ready\ngot-term\n');
  });

  test('SIGTERM to a bare `sleep 100` (PID 1, no handler) is ignored by the kernel; SIGKILL is reported as SIGKILL', async (t) => {
    const spec = await container(t, ['sleep', '100']);
    await launcher.launch(spec);
    await launcher.kill(spec.id, spec.sandbox, 'SIGTERM');
    await sleep(300);
    assert.equal((await launcher.recover(spec.id, spec.sandbox)).state, 'running');
    await launcher.kill(spec.id, spec.sandbox, 'SIGKILL');
    const status = await launcher.wait(spec.id, spec.sandbox);
    assert.deepEqual([status.exitCode, status.signal], [null, 'SIGKILL']);
    await launcher.kill(spec.id, spec.sandbox, 'SIGKILL'); // already gone: no error
  });

  test("a command missing from the image: launch rejects with runc's reason", async (t) => {
    const spec = await container(t, ['no-such-binary']);
    await assert.rejects(launcher.launch(spec), (err: unknown) => {
      assert.ok(isBerthError(err));
      assert.equal(err.code, 'ERR_LAUNCH_FAILED');
      assert.match(err.message, /no-such-binary.*executable file not found/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });

  test('the task outlives its agent: recover says running, wait gets the exit', async (t) => {
    const spec = await container(t, ['sh', '-c', 'sleep 1; echo done']);
    const pid = launchFromDoomedAgent('runc', stateRoot, spec);
    const fresh = createLauncher('runc', { stateRoot });
    assert.deepEqual(await fresh.recover(spec.id, spec.sandbox), { state: 'running', pid });
    const status = await fresh.wait(spec.id, spec.sandbox);
    assert.equal(status.exitCode, 0);
    assert.equal(log(spec), 'done\n');
    const recovered = await fresh.recover(spec.id, spec.sandbox);
    assert.ok(recovered.state === 'exited' && recovered.status.exitCode === 0);
  });

  test('destroy of a running container kills it and removes runc state, cgroup and .runtime, keeps logs', async (t) => {
    const spec = await container(t, ['sh', '-c', 'echo up; sleep 100']);
    await launcher.launch(spec);
    const memCgroup = `/sys/fs/cgroup/memory/berth/${spec.id}`;
    const hasCgroup = existsSync('/sys/fs/cgroup/memory/berth');
    if (hasCgroup) assert.ok(existsSync(memCgroup));
    assert.equal(spawnSync(RUNC, ['--root', stateRoot, 'state', spec.id]).status, 0);
    await launcher.destroy(spec.id, spec.sandbox);
    assert.notEqual(spawnSync(RUNC, ['--root', stateRoot, 'state', spec.id]).status, 0);
    assert.ok(!existsSync(join(stateRoot, spec.id)));
    assert.ok(!existsSync(memCgroup));
    assert.ok(!existsSync(join(spec.sandbox, '.runtime')));
    assert.equal(log(spec), 'up\n');
    assert.equal((await launcher.recover(spec.id, spec.sandbox)).state, 'lost');
  });

  test('exec runs in the container with its env plus the extra env; a timeout is reported', async (t) => {
    const spec = await container(t, ['sleep', '30'], { env: { GREETING: 'hi' } });
    await launcher.launch(spec);
    t.after(() => launcher.destroy(spec.id, spec.sandbox));
    const ok = await launcher.exec(spec.id, spec.sandbox, {
      args: ['sh', '-c', 'echo "$GREETING $EXTRA $(hostname)"; exit 4'],
      env: { EXTRA: 'there' },
      timeoutMs: 10_000,
    });
    assert.deepEqual([ok.exitCode, ok.timedOut, ok.output], [4, false, `hi there ${spec.id}`]);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await launcher.exec(spec.id, spec.sandbox, { args: ['true'], env: {}, timeoutMs: 10_000 });
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`runc exec of \`true\` (a command check): median ${times[2]?.toFixed(1)} ms of 5`);
    const slow = await launcher.exec(spec.id, spec.sandbox, {
      args: ['sleep', '20'],
      env: {},
      timeoutMs: 300,
    });
    assert.equal(slow.timedOut, true);
    assert.notEqual(slow.exitCode, 0);
  });

  test('latency: launch→exit of `true` vs raw `runc run` (reported, not asserted)', async (t) => {
    const rounds = 5;
    const viaLauncher: number[] = [];
    const launchOnly: number[] = [];
    let bundleConfig = '';
    for (let i = 0; i < rounds; i++) {
      const spec = await container(t, ['true']);
      const start = performance.now();
      await launcher.launch(spec);
      launchOnly.push(performance.now() - start);
      const status = await launcher.wait(spec.id, spec.sandbox);
      viaLauncher.push(performance.now() - start);
      assert.equal(status.exitCode, 0);
      bundleConfig = readFileSync(join(spec.sandbox, '.runtime/bundle/config.json'), 'utf8');
    }
    const raw: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const spec = await container(t, ['true']);
      const bundle = makeTempDir('bundle');
      t.after(() => rmSync(bundle, { recursive: true, force: true }));
      const config = JSON.parse(bundleConfig) as { root: { path: string } };
      config.root.path = spec.rootfs ?? '';
      spawnSync('sh', ['-c', 'cat > "$0/config.json"', bundle], { input: JSON.stringify(config) });
      const start = performance.now();
      const result = spawnSync(RUNC, ['--root', stateRoot, 'run', '--bundle', bundle, spec.id], {
        stdio: 'ignore',
      });
      raw.push(performance.now() - start);
      assert.equal(result.status, 0);
    }
    const median = (xs: number[]): string =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(1) ?? '?';
    t.diagnostic(
      `latency (median of ${rounds}): launch() ${median(launchOnly)} ms; launch→exit via launcher ${median(viaLauncher)} ms; raw runc run ${median(raw)} ms`,
    );
  });
});
