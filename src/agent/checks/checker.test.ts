import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import type { CheckStatusInfo, TaskInfo } from '../../api/mesos.js';
import { FakeClock } from '../../core/clock.js';
import { instantTaskChecker, ProbingTaskChecker, runProbe, type Probe } from './checker.js';
import type { ProbeResult } from './decide.js';
import { probeCommand, probeHttp, probeTcp } from './probes.js';

const task = (extra: Partial<TaskInfo>): TaskInfo => ({
  name: 't',
  task_id: { value: 't1' },
  agent_id: { value: 'a1' },
  resources: [],
  ...extra,
});

function recorder() {
  const events: string[] = [];
  return {
    events,
    listener: {
      healthChanged: (healthy: boolean) => events.push(`healthy=${healthy}`),
      checkChanged: (status: CheckStatusInfo) => events.push(`check=${JSON.stringify(status)}`),
      unhealthy: (message: string) => events.push(`kill: ${message}`),
    },
  };
}

/** Lets the probe's promise and the checker's continuation run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('health: delay, interval, grace and the kill, on a fake clock', async () => {
  const clock = new FakeClock(0);
  const outcomes = [false, false, true, false, false, false, false];
  const times: number[] = [];
  const probe: Probe = async () => {
    times.push(clock.now());
    const ok = outcomes.shift() ?? false;
    return { ok, detail: ok ? 'up' : 'TCP connect :9: connection refused', status: { type: 'TCP' } };
  };
  const checker = new ProbingTaskChecker({ clock, probe });
  const { events, listener } = recorder();
  const check = {
    type: 'TCP' as const,
    tcp: { port: 9 },
    delay_seconds: 2,
    interval_seconds: 1,
    grace_period_seconds: 4,
    consecutive_failures: 3,
  };
  checker.start({ task: task({ health_check: check }), startedAt: 0 }, listener);
  for (let i = 0; i < 12; i++) {
    clock.advance(1000);
    await settle();
  }
  // probes at 2 s, 3 s (in grace, ignored), 4 s healthy, then 5, 6, 7 s failing: killed at the third.
  assert.deepEqual(times, [2000, 3000, 4000, 5000, 6000, 7000]);
  assert.deepEqual(events, [
    'healthy=true',
    'healthy=false',
    'kill: health check failed 3 times: TCP connect :9: connection refused',
  ]);
});

test('stop() ends the probing', async () => {
  const clock = new FakeClock(0);
  let probes = 0;
  const probe: Probe = async () => {
    probes++;
    return { ok: true, detail: '', status: { type: 'TCP' } };
  };
  const run = new ProbingTaskChecker({ clock, probe }).start(
    {
      task: task({ health_check: { type: 'TCP', tcp: { port: 1 }, delay_seconds: 0, interval_seconds: 1 } }),
      startedAt: 0,
    },
    recorder().listener,
  );
  clock.advance(0);
  await settle();
  clock.advance(1000);
  await settle();
  run.stop();
  clock.advance(10_000);
  await settle();
  assert.equal(probes, 2);
});

test('readiness: each change of result is reported; after a restart the last one is not repeated', async () => {
  const clock = new FakeClock(0);
  const codes = [503, 503, 200, 200];
  const probe: Probe = async (): Promise<ProbeResult> => {
    const code = codes.shift() ?? 200;
    return { ok: code === 200, detail: '', status: { type: 'HTTP', http: { status_code: code } } };
  };
  const { events, listener } = recorder();
  new ProbingTaskChecker({ clock, probe }).start(
    {
      task: task({ check: { type: 'HTTP', http: { port: 1 }, delay_seconds: 0, interval_seconds: 1 } }),
      startedAt: 0,
      lastCheckStatus: { type: 'HTTP', http: { status_code: 503 } },
    },
    listener,
  );
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    await settle();
  }
  assert.deepEqual(events, ['check={"type":"HTTP","http":{"status_code":200}}']);
});

test('the instant checker reports healthy and a passing check at once', () => {
  const { events, listener } = recorder();
  instantTaskChecker.start(
    {
      task: task({
        health_check: { type: 'HTTP', http: { port: 1 } },
        check: { type: 'TCP', tcp: { port: 1 } },
      }),
      startedAt: 0,
    },
    listener,
  );
  assert.deepEqual(events, ['healthy=true', 'check={"type":"TCP","tcp":{"succeeded":true}}']);
});

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('HTTP probe: 2xx/3xx healthy, others not, statuses override; refused and timeouts named', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/slow') return; // never answers
    res.statusCode = Number(req.url?.slice(1)) || 200;
    res.end('x');
  });
  const port = await listen(server);
  t.after(() => server.close());
  t.after(() => server.closeAllConnections());
  assert.equal((await probeHttp(port, '/204', 2000)).ok, true);
  assert.equal((await probeHttp(port, '/302', 2000)).ok, true);
  const bad = await probeHttp(port, '/500', 2000);
  assert.deepEqual(
    [bad.ok, bad.detail, bad.status],
    [false, `HTTP GET :${port}/500: status 500`, { type: 'HTTP', http: { status_code: 500 } }],
  );
  assert.equal((await probeHttp(port, '/500', 2000, [500])).ok, true);
  assert.equal((await probeHttp(port, '/200', 2000, [204])).ok, false);
  const slow = await probeHttp(port, '/slow', 200);
  assert.equal(slow.detail, `HTTP GET :${port}/slow: timed out after 0.2s`);
  const closed = await freePort();
  const refused = await probeHttp(closed, '/health', 2000);
  assert.equal(refused.detail, `HTTP GET :${closed}/health: connection refused`);
  assert.deepEqual(refused.status, { type: 'HTTP', http: {} });
});

test('TCP probe: connected or refused', async (t) => {
  const server = createTcpServer((socket) => socket.end());
  const port = await listen(server);
  t.after(() => server.close());
  assert.deepEqual(await probeTcp(port, 2000), {
    ok: true,
    detail: `TCP connect :${port}: connected`,
    status: { type: 'TCP', tcp: { succeeded: true } },
  });
  const closed = await freePort();
  const refused = await probeTcp(closed, 2000);
  assert.equal(refused.ok, false);
  assert.deepEqual(refused.status, { type: 'TCP', tcp: { succeeded: false } });
});

test('command probe: exit code, timeout, output in the detail, no exec', async () => {
  const exec = async (command: { value?: string }) =>
    command.value === 'slow'
      ? { exitCode: null, signal: 'SIGTERM', timedOut: true, output: '' }
      : { exitCode: Number(command.value), signal: null, timedOut: false, output: 'curl: (7) refused\nmore' };
  assert.equal((await probeCommand(exec, { value: '0' }, 1000)).ok, true);
  const failed = await probeCommand(exec, { value: '7' }, 1000);
  assert.deepEqual(
    [failed.ok, failed.detail, failed.status],
    [
      false,
      'command "7": exited with status 7 (curl: (7) refused)',
      { type: 'COMMAND', command: { exit_code: 7 } },
    ],
  );
  assert.equal(
    (await probeCommand(exec, { value: 'slow' }, 1500)).detail,
    'command "slow": timed out after 1.5s',
  );
  assert.equal((await probeCommand(undefined, { value: 'x' }, 1)).ok, false);
});

test('runProbe: a CheckInfo command is unwrapped; a check without its field fails, saying so', async () => {
  const seen: string[] = [];
  const exec = async (command: { value?: string }) => {
    seen.push(command.value ?? '');
    return { exitCode: 0, signal: null, timedOut: false, output: '' };
  };
  assert.equal(
    (await runProbe({ type: 'COMMAND', command: { command: { value: 'true' } } }, 1000, exec)).ok,
    true,
  );
  assert.equal((await runProbe({ type: 'COMMAND', command: { value: 'ok' } }, 1000, exec)).ok, true);
  assert.deepEqual(seen, ['true', 'ok']);
  assert.equal((await runProbe({ type: 'HTTP' }, 1000, exec)).detail, 'HTTP check has no "http" field');
});
