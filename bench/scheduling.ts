/**
 * Benchmark 2, two-level scheduling throughput: frameworks built on the SDK accept offers from 10,000
 * hollow agents and launch 100,000 tasks; each task goes ACCEPT → master records it → LAUNCH → hollow
 * agent STARTING/RUNNING → status updates → framework acknowledges. Master, agents and frameworks run in
 * this process on the in-process links (the wire format is measured by master-memory.ts over HTTP); the
 * master keeps its state in SQLite as `berth master` does.
 *
 *   npm run build && node dist/bench/scheduling.js [--smoke | --full] [--agents N --tasks N --frameworks N]
 */
import { parseResources } from '../src/core/resources.js';
import { localAgentLink, localSchedulerTransport, Master } from '../src/master/index.js';
import { HollowCluster, LoadFramework, parseTaskDuration } from '../src/sim/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/index.js';
import { elapsedMs, keepAlive, numberArg, printTable, rssMiB, sizeFromArgs, writeResult } from './lib.js';

const SIZES = {
  smoke: { agents: 50, tasks: 500, frameworks: 2 },
  default: { agents: 10_000, tasks: 100_000, frameworks: 10 },
  full: { agents: 10_000, tasks: 100_000, frameworks: 10 },
};
const GOAL_TASKS_PER_S = 10_000;

async function main(): Promise<void> {
  const size = sizeFromArgs();
  const agents = numberArg('agents', SIZES[size].agents);
  const tasks = numberArg('tasks', SIZES[size].tasks);
  const frameworks = numberArg('frameworks', SIZES[size].frameworks);
  const stopKeepAlive = keepAlive();
  // The master keeps its state in SQLite, as `berth master` does.
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-sched-'));
  const store = await openStore(`sqlite:${join(dir, 'master.db')}`);
  const master = new Master({ store, allocationIntervalMs: 1000, offerTimeoutMs: 0 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:16;mem:65536;disk:102400'),
    duration: parseTaskDuration('forever'),
  });
  let start = process.hrtime.bigint();
  await cluster.start();
  const agentsMs = elapsedMs(start);
  const perFramework = Math.ceil(tasks / frameworks);
  const loads = Array.from(
    { length: frameworks },
    (_, i) =>
      new LoadFramework({
        transport: localSchedulerTransport(master),
        name: `load-${i}`,
        tasks: Math.min(perFramework, tasks - i * perFramework),
        taskResources: parseResources('cpus:1;mem:1024;disk:64'),
      }),
  );
  start = process.hrtime.bigint();
  const subscribeAt = performance.now();
  await Promise.all(loads.map((l) => l.start()));
  await Promise.all(loads.map((l) => l.until((s) => s.everRunning >= l.target)));
  const totalMs = elapsedMs(start);
  const doneAt = performance.now();
  const firstOfferAt = Math.min(...loads.map((l) => l.firstOfferAt ?? Infinity));
  const firstOffer = firstOfferAt - subscribeAt;
  const runningMs = doneAt - firstOfferAt;
  const running = loads.reduce((n, l) => n + l.stats.running, 0);
  const rss = rssMiB();
  const tasksPerS = tasks / (runningMs / 1000);
  printTable(
    ['what', 'value', 'goal / anchor'],
    [
      ['hollow agents', agents, ''],
      ['frameworks', frameworks, ''],
      ['tasks RUNNING and acknowledged', running, String(tasks)],
      ['agents subscribed in (ms)', agentsMs, ''],
      ['frameworks subscribe → first offer (ms)', firstOffer, 'allocation interval 1000'],
      ['first offer → all RUNNING and acknowledged (ms)', runningMs, ''],
      ['throughput (tasks/s)', tasksPerS, `≥ ${GOAL_TASKS_PER_S}; kube-scheduler 680–810, Nomad C1M 3,750`],
      ['subscribe → all RUNNING, incl. first cycle wait (ms)', totalMs, ''],
      ['process RSS (master + agents + frameworks, MiB)', rss, ''],
    ],
  );
  writeResult('scheduling', {
    size,
    agents,
    tasks,
    frameworks,
    relaunched_after_drop: loads.reduce((n, l) => n + l.stats.dropped, 0),
    agents_subscribed_ms: agentsMs,
    first_offer_to_all_running_ms: runningMs,
    subscribe_to_all_running_ms: totalMs,
    subscribe_to_first_offer_ms: firstOffer,
    tasks_per_second: tasksPerS,
    goal_tasks_per_second: GOAL_TASKS_PER_S,
    running,
    rss_mib: rss,
  });
  for (const l of loads) l.stop();
  await cluster.stop();
  await master.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  stopKeepAlive();
  if (running !== tasks) process.exitCode = 1;
}

await main();
