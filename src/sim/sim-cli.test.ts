/**
 * `berth sim` against a real `berth master` (the built CLI, both as separate processes): hollow agents
 * join over HTTP, and leave when the command is stopped. Runs from dist/ (it needs bin/berth.js).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { BERTH, BerthProcess, eventually, runCli } from '../../test/integration/harness.js';

test('berth sim attaches hollow agents to a running master over HTTP', { timeout: 90_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-sim-'));
  const master = await new BerthProcess(['master', '--data-dir', home, '--port', '0'], {
    ...process.env,
    BERTH_HOME: home,
  }).start();
  const sim = spawn(
    process.execPath,
    [
      BERTH,
      'sim',
      '--agents',
      '40',
      '--master',
      master.url,
      '--hostname-prefix',
      'ghost',
      '--resources',
      'cpus:2;mem:2048',
    ],
    { env: { ...process.env, BERTH_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  sim.stdout.on('data', (d: Buffer) => (output += d.toString()));
  sim.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await eventually(
      async () => (output.includes('hollow agents joined') ? true : undefined),
      60_000,
      output,
    );
    const res = await request(`${master.url}/api/v1/agents`);
    const { agents } = (await res.body.json()) as { agents: Array<{ hostname: string; state: string }> };
    assert.equal(agents.filter((a) => a.state === 'ACTIVE' && a.hostname.startsWith('ghost-')).length, 40);
    const exited = new Promise<number | null>((r) => sim.once('exit', (code) => r(code)));
    sim.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  } finally {
    sim.kill('SIGKILL');
    await master.stop();
    rmSync(home, { recursive: true, force: true });
  }
});

test('berth sim refuses a bad task duration with one line naming the option', async () => {
  const r = await runCli(['sim', '--task-duration', 'soon', '--master', 'http://127.0.0.1:9'], process.env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^berth: bad --task-duration "soon"/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
