import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBerthError } from '../core/errors.js';
import { createLauncher, type LaunchSpec, type Launcher } from './index.js';
import { isAlive, launchFromDoomedAgent, makeTempDir, nextTaskId } from './test-support.js';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function setup(
  t: TestContext,
  args: string[],
  overrides: Partial<LaunchSpec> = {},
): { launcher: Launcher; spec: LaunchSpec } {
  const sandbox = makeTempDir('proc');
  const launcher = createLauncher('process', { stateRoot: join(sandbox, 'unused') });
  const spec: LaunchSpec = {
    id: nextTaskId('proc'),
    sandbox,
    args,
    env: { PATH },
    resources: { cpus: 1, memMiB: 64 },
    ...overrides,
  };
  t.after(async () => {
    await launcher.destroy(spec.id, sandbox).catch(() => undefined);
    rmSync(sandbox, { recursive: true, force: true });
  });
  return { launcher, spec };
}

const log = (spec: LaunchSpec, name: 'stdout' | 'stderr'): string =>
  readFileSync(join(spec.sandbox, name), 'utf8');

test('echo: stdout goes to the sandbox log, exit 0', async (t) => {
  const { launcher, spec } = setup(t, ['echo', 'hello']);
  const { pid } = await launcher.launch(spec);
  assert.ok(pid > 0);
  const status = await launcher.wait(spec.id, spec.sandbox);
  assert.equal(status.exitCode, 0);
  assert.equal(status.signal, null);
  assert.ok(Math.abs(status.finishedAt - Date.now()) < 60_000);
  assert.equal(log(spec, 'stdout'), 'hello\n');
});

test('exit code and stderr', async (t) => {
  const { launcher, spec } = setup(t, ['sh', '-c', 'echo oops >&2; exit 3']);
  await launcher.launch(spec);
  assert.equal((await launcher.wait(spec.id, spec.sandbox)).exitCode, 3);
  assert.equal(log(spec, 'stderr'), 'oops\n');
});

test('env is exactly the given env (plus PWD from sh), args are passed verbatim', async (t) => {
  const weird = `it's "quoted" $HOME; $(rm -rf /) \`x\``;
  const { launcher, spec } = setup(t, ['sh', '-c', 'echo "$GREETING"; echo "$1"; env | sort', 'sh', weird], {
    env: { PATH, GREETING: 'a b=c' },
  });
  await launcher.launch(spec);
  assert.equal((await launcher.wait(spec.id, spec.sandbox)).exitCode, 0);
  const lines = log(spec, 'stdout').trim().split('\n');
  assert.equal(lines[0], 'a b=c');
  assert.equal(lines[1], weird);
  const names = lines.slice(2).map((l) => l.split('=')[0]);
  assert.deepEqual(
    names.filter((n) => n !== 'PWD' && n !== 'SHLVL' && n !== '_'),
    ['GREETING', 'PATH'],
  );
});

test('cwd is relative to the sandbox; default is the sandbox', async (t) => {
  const { launcher, spec } = setup(t, ['pwd']);
  mkdirSync(join(spec.sandbox, 'work'));
  await launcher.launch({ ...spec, cwd: 'work' });
  await launcher.wait(spec.id, spec.sandbox);
  assert.equal(log(spec, 'stdout'), `${join(spec.sandbox, 'work')}\n`);
  await launcher.destroy(spec.id, spec.sandbox);
  await launcher.launch(spec);
  await launcher.wait(spec.id, spec.sandbox);
  assert.equal(log(spec, 'stdout').split('\n')[1], spec.sandbox);
});

test('kill SIGTERM: the task and its children get it; status says SIGTERM', async (t) => {
  const { launcher, spec } = setup(t, ['sh', '-c', 'sleep 100 & echo $! > child.pid; wait']);
  await launcher.launch(spec);
  const childPidFile = join(spec.sandbox, 'child.pid');
  while (!existsSync(childPidFile) || readFileSync(childPidFile, 'utf8') === '') await sleep(5);
  const childPid = Number(readFileSync(childPidFile, 'utf8'));
  assert.ok(isAlive(childPid));
  await launcher.kill(spec.id, spec.sandbox, 'SIGTERM');
  const status = await launcher.wait(spec.id, spec.sandbox);
  assert.deepEqual([status.exitCode, status.signal], [null, 'SIGTERM']);
  for (let i = 0; i < 100 && isAlive(childPid); i++) await sleep(10);
  assert.ok(!isAlive(childPid), "the task's child was signalled too");
  await launcher.kill(spec.id, spec.sandbox, 'SIGKILL'); // already gone: no error
});

test('kill SIGKILL: the supervisor survives it and records SIGKILL', async (t) => {
  const { launcher, spec } = setup(t, ['sleep', '100']);
  await launcher.launch(spec);
  await launcher.kill(spec.id, spec.sandbox, 'SIGKILL');
  const status = await launcher.wait(spec.id, spec.sandbox);
  assert.equal(status.signal, 'SIGKILL');
  assert.equal(status.message, undefined);
});

test('launch fails with one clear line for a missing command or cwd', async (t) => {
  const { launcher, spec } = setup(t, ['no-such-command-xyz']);
  await assert.rejects(launcher.launch(spec), (err: unknown) => {
    return (
      isBerthError(err) &&
      err.code === 'ERR_LAUNCH_FAILED' &&
      /command not found: no-such-command-xyz/.test(err.message)
    );
  });
  await assert.rejects(
    launcher.launch({ ...spec, args: ['true'], cwd: 'nope' }),
    /working directory .* does not exist/,
  );
});

test('the task outlives its agent: recover, then wait from a new launcher', async (t) => {
  const { spec } = setup(t, ['sh', '-c', 'sleep 1; echo done']);
  const pid = launchFromDoomedAgent('process', '/unused', spec);
  const launcher = createLauncher('process', { stateRoot: '/unused' });
  assert.deepEqual(await launcher.recover(spec.id, spec.sandbox), { state: 'running', pid });
  const status = await launcher.wait(spec.id, spec.sandbox);
  assert.equal(status.exitCode, 0);
  assert.equal(log(spec, 'stdout'), 'done\n');
  const recovered = await launcher.recover(spec.id, spec.sandbox);
  assert.equal(recovered.state, 'exited');
  await launcher.destroy(spec.id, spec.sandbox);
  assert.equal((await launcher.recover(spec.id, spec.sandbox)).state, 'lost');
  assert.ok(existsSync(join(spec.sandbox, 'stdout')), 'destroy keeps the logs');
});

test('a supervisor killed without writing exit: wait says "supervisor died", recover says lost', async (t) => {
  const { launcher, spec } = setup(t, ['sleep', '100']);
  const { pid } = await launcher.launch(spec);
  const supervisorPid = Number(readFileSync(join(spec.sandbox, '.runtime/supervisor.pid'), 'utf8'));
  process.kill(supervisorPid, 'SIGKILL');
  const fresh = createLauncher('process', { stateRoot: '/unused' });
  const status = await fresh.wait(spec.id, spec.sandbox);
  assert.equal(status.message, 'supervisor died');
  assert.equal(status.exitCode, null);
  assert.equal((await fresh.recover(spec.id, spec.sandbox)).state, 'lost');
  assert.ok(isAlive(pid), 'the task itself is still running, unsupervised');
  await fresh.destroy(spec.id, spec.sandbox);
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(10);
  assert.ok(!isAlive(pid), 'destroy killed the orphaned task');
});

test('exec runs in the sandbox with the given env; a timeout kills it and says so', async (t) => {
  const { launcher, spec } = setup(t, ['sleep', '30']);
  await launcher.launch(spec);
  const ok = await launcher.exec(spec.id, spec.sandbox, {
    args: ['/bin/sh', '-c', 'echo "$WHO"; pwd; exit 3'],
    env: { WHO: 'check', PATH },
    timeoutMs: 10_000,
  });
  assert.deepEqual([ok.exitCode, ok.timedOut], [3, false]);
  assert.deepEqual(ok.output.split('\n'), ['check', spec.sandbox]);
  const started = Date.now();
  const slow = await launcher.exec(spec.id, spec.sandbox, { args: ['sleep', '20'], env: {}, timeoutMs: 200 });
  assert.equal(slow.timedOut, true);
  assert.ok(Date.now() - started < 5000);
  const missing = await launcher.exec(spec.id, spec.sandbox, {
    args: ['no-such-cmd'],
    env: {},
    timeoutMs: 1000,
  });
  assert.equal(missing.exitCode, 127);
});
