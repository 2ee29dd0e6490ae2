/** Failures a new user meets first: no master, a port in use, a missing token. One line each. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { spawn } from 'node:child_process';
import { BERTH, Cluster, runCli } from './harness.js';

test('an unreachable master says how to start one', async () => {
  const r = await runCli(['ps'], { ...process.env, BERTH_MASTER: 'http://127.0.0.1:9' });
  assert.equal(r.code, 69);
  assert.equal(
    r.stderr,
    'berth: cannot reach the berth master at http://127.0.0.1:9: start one with `berth up`, or point --master / BERTH_MASTER at a running one\n',
  );
});

test('a port in use is one clear line', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const home = mkdtempSync(join(tmpdir(), 'berth-it-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const r = await runCli(['up', '--port', String(port), '--runtime', 'process'], {
    ...process.env,
    BERTH_HOME: home,
  });
  assert.equal(r.code, 75);
  assert.equal(
    r.stderr,
    `berth: port ${port} on 127.0.0.1 is already in use: is berth already running? Stop it, or pick another port with --port\n`,
  );
});

test('listening beyond loopback requires the bearer token from the data dir', async (t) => {
  const cluster = await Cluster.start(['--listen', '0.0.0.0', '--runtime', 'process']);
  t.after(() => cluster.destroy());
  const tokenFile = join(cluster.home, 'token');
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const denied = await request(`${cluster.url}/api/v1/agents`);
  assert.equal(denied.statusCode, 401);
  assert.match(await denied.body.text(), /ERR_UNAUTHORIZED/);
  const allowed = await request(`${cluster.url}/api/v1/agents`, {
    headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` },
  });
  assert.equal(allowed.statusCode, 200);
  await allowed.body.dump();
  const viaCli = await cluster.cli(['nodes']);
  assert.equal(viaCli.code, 0, viaCli.stderr);
  const wrong = await cluster.cli(['nodes'], { BERTH_TOKEN: 'wrong' });
  assert.equal(wrong.code, 77);
  assert.match(wrong.stderr, /^berth: a valid bearer token is required/);
});

test('the process runtime runs tasks without runc', async (t) => {
  const cluster = await Cluster.start(['--runtime', 'process']);
  t.after(() => cluster.destroy());
  await cluster.importBusybox();
  const r = await cluster.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo "in $PWD"; exit 2']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, new RegExp(`^in ${cluster.home}/agent/sandboxes/`));
});

test('a reader that goes away ends the command quietly, with no stack trace', async () => {
  // As `berth run --help | head -0`: the reading end is closed before the command writes anything.
  const child = spawn(process.execPath, [BERTH, 'run', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(stderr, '', 'nothing on stderr');
  assert.equal(code, 141, 'exit code 141, as for a program ended by SIGPIPE');
});
