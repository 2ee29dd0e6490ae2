/**
 * Benchmarks 3 and 4 on one cluster: a real `berth master` (SQLite store) in a child process, N hollow
 * agents and 10 SDK frameworks in this process, all over HTTP.
 *   3. master RSS (read from /proc/<pid>/status, so it is the master's alone) with 10k agents and 100k
 *      running tasks; this process's RSS is the hollow agents' (plus the frameworks').
 *   4. the master is killed (SIGKILL) and started again on the same data dir and port: the time from the
 *      new process's spawn until every agent has re-registered (ACTIVE) and every task is known RUNNING.
 *
 * At 10k agents and 100k tasks this process needs more than Node's default heap while the status
 * updates queue up (see docs/benchmarks.md); the suite runs it with --max-old-space-size=8192.
 *
 *   npm run build && node dist/bench/master-scale.js [--smoke | --full] [--agents N --tasks N] [--no-restart]
 *     [--verbose] (prints the master's counts while it restarts)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as UndiciAgent, request, setGlobalDispatcher } from 'undici';
import { parseResources } from '../src/core/resources.js';
import { HttpSchedulerTransport } from '../src/sdk/index.js';
import { LoadFramework, parseTaskDuration, startHttpSim } from '../src/sim/index.js';
import { BerthProcess } from '../test/integration/harness.js';
import { keepAlive, numberArg, printTable, rssMiB, sizeFromArgs, writeResult } from './lib.js';

const SIZES = {
  smoke: { agents: 20, tasks: 100, frameworks: 2 },
  default: { agents: 10_000, tasks: 100_000, frameworks: 10 },
  full: { agents: 10_000, tasks: 100_000, frameworks: 10 },
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url, { headersTimeout: 120_000, bodyTimeout: 120_000 });
  return (await res.body.json()) as T;
}

interface Counts {
  active: number;
  running: number;
}

async function activeAgents(url: string): Promise<number> {
  const { agents } = await getJson<{ agents: Array<{ state: string }> }>(`${url}/api/v1/agents`);
  return agents.filter((a) => a.state === 'ACTIVE').length;
}

async function runningTasks(url: string): Promise<number> {
  const { tasks } = await getJson<{ tasks: Array<{ state: string }> }>(`${url}/api/v1/tasks`);
  return tasks.filter((t) => t.state === 'TASK_RUNNING').length;
}

async function counts(url: string): Promise<Counts> {
  return { active: await activeAgents(url), running: await runningTasks(url) };
}

interface Summary {
  agents: Record<string, number>;
  tasks: Record<string, number>;
}

/**
 * Polls the master's counts (`GET /api/v1/summary`: agents and tasks by state) until all agents are ACTIVE
 * and all tasks RUNNING; cheap for the master however large the cluster. The caller checks the full lists
 * afterwards, outside the timing.
 */
async function waitFor(url: string, want: Counts, timeoutMs: number, log: boolean): Promise<Counts> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  let last: Counts = { active: 0, running: 0 };
  while (Date.now() < deadline) {
    try {
      const summary = await getJson<Summary>(`${url}/api/v1/summary`);
      last = { active: summary.agents.ACTIVE ?? 0, running: summary.tasks.TASK_RUNNING ?? 0 };
      if (log) console.error(`${(performance.now() - t0).toFixed(0)} ms: ${JSON.stringify(summary)}`);
      if (last.active >= want.active && last.running >= want.running) return last;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out: ${JSON.stringify(last)} of ${JSON.stringify(want)}`);
}

async function main(): Promise<void> {
  const size = sizeFromArgs();
  const agents = numberArg('agents', SIZES[size].agents);
  const tasks = numberArg('tasks', SIZES[size].tasks);
  const frameworks = numberArg('frameworks', SIZES[size].frameworks);
  const stopKeepAlive = keepAlive();
  // The frameworks' calls share a bounded pool of connections.
  setGlobalDispatcher(new UndiciAgent({ connections: 128, headersTimeout: 120_000, bodyTimeout: 0 }));
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-master-'));
  const port = await freePort();
  const args = ['master', '--data-dir', home, '--port', String(port)];
  // BERTH_BENCH_MASTER_NODE_OPTIONS (e.g. "--cpu-prof") goes to the master process only.
  const masterNodeOptions = process.env.BERTH_BENCH_MASTER_NODE_OPTIONS;
  const env = {
    ...process.env,
    BERTH_HOME: home,
    ...(masterNodeOptions ? { NODE_OPTIONS: masterNodeOptions } : {}),
  };
  let master = await new BerthProcess(args, env).start();
  const url = master.url;
  const baseline = rssMiB(master.pid);
  const simBefore = rssMiB();
  let start = performance.now();
  const sim = await startHttpSim({
    masters: [url],
    agents,
    resources: parseResources('cpus:16;mem:65536;disk:102400'),
    duration: parseTaskDuration('forever'),
    heartbeatSeconds: 15,
    callConnections: 256,
  });
  const agentsMs = performance.now() - start;
  const perFramework = Math.ceil(tasks / frameworks);
  const loads = Array.from(
    { length: frameworks },
    (_, i) =>
      new LoadFramework({
        transport: new HttpSchedulerTransport({ master: url }),
        name: `load-${i}`,
        tasks: Math.min(perFramework, tasks - i * perFramework),
        taskResources: parseResources('cpus:1;mem:1024;disk:64'),
      }),
  );
  try {
    start = performance.now();
    await Promise.all(loads.map((l) => l.start()));
    await Promise.all(loads.map((l) => l.until((s) => s.everRunning >= l.target)));
    const launchMs = performance.now() - start;
    // Let the master's writes and garbage settle before reading its RSS.
    await new Promise((r) => setTimeout(r, size === 'smoke' ? 200 : 3000));
    const masterRss = rssMiB(master.pid);
    const simRss = rssMiB();
    const before = await counts(url);

    if (process.argv.includes('--no-restart')) {
      console.log(
        `master RSS ${masterRss.toFixed(0)} MiB, hollow agents ${simRss.toFixed(0)} MiB, launch ${launchMs.toFixed(0)} ms`,
      );
      return;
    }
    // Benchmark 4: kill the master and start it again on the same data dir and port.
    await master.stop('SIGKILL');
    start = performance.now();
    master = await new BerthProcess(args, env).start();
    const upMs = performance.now() - start;
    const verbose = process.argv.includes('--verbose');
    await waitFor(url, { active: agents, running: tasks }, 120_000, verbose);
    const restartMs = performance.now() - start;
    const restartedRss = rssMiB(master.pid);
    // The same check as before the restart, from the full lists of agents and tasks.
    const after = await counts(url);

    printTable(
      ['what', 'value', 'goal / anchor'],
      [
        ['hollow agents (HTTP) / frameworks / tasks', `${agents} / ${frameworks} / ${tasks}`, ''],
        ['agents subscribed over HTTP in (ms)', agentsMs, ''],
        ['frameworks subscribe → all RUNNING over HTTP (ms)', launchMs, ''],
        ['throughput over HTTP, incl. first cycle wait (tasks/s)', tasks / (launchMs / 1000), ''],
        ['3. master RSS, idle (MiB)', baseline, ''],
        ['3. master RSS with all agents and tasks (MiB)', masterRss, '≤ 1024'],
        ['hollow agents process RSS (MiB)', simRss, `≤ 2048 (before the agents: ${simBefore.toFixed(0)})`],
        ['4. restart: spawn → API up (ms)', upMs, ''],
        [
          '4. restart: spawn → all agents ACTIVE, all tasks RUNNING (ms)',
          restartMs,
          '≤ 2000; Mesos 1.5 ≈ 4500',
        ],
        ['master RSS after the restart (MiB)', restartedRss, ''],
      ],
    );
    writeResult('master-scale', {
      size,
      agents,
      tasks,
      frameworks,
      relaunched_after_drop: loads.reduce((n, l) => n + l.stats.dropped, 0),
      agents_subscribed_ms: agentsMs,
      subscribe_to_all_running_ms: launchMs,
      master_rss_idle_mib: baseline,
      master_rss_mib: masterRss,
      goal_master_rss_mib: 1024,
      sim_rss_mib: simRss,
      goal_sim_rss_mib: 2048,
      counts_before_restart: before,
      restart_api_up_ms: upMs,
      restart_complete_ms: restartMs,
      goal_restart_ms: 2000,
      counts_after_restart: after,
      master_rss_after_restart_mib: restartedRss,
    });
    if (before.active !== agents || before.running !== tasks) process.exitCode = 1;
    if (after.active !== agents || after.running !== tasks) process.exitCode = 1;
  } finally {
    for (const l of loads) l.stop();
    await sim.stop();
    await master.stop('SIGTERM');
    rmSync(home, { recursive: true, force: true });
    stopKeepAlive();
  }
}

await main();
