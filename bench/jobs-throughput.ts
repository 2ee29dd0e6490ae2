/**
 * Short-job throughput (issue 6): N one-second tasks as Jobs on hollow agents, from submission to the
 * last terminal status handled (and so acknowledged), in tasks per second. The master and the jobs
 * framework share one SQLite store, as in `berth up`. Goal: ≥ 2,000 tasks/s for 10,000 tasks.
 *
 *   npm run build && node dist/bench/jobs-throughput.js [--tasks 10000] [--jobs 1] [--agents 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResources } from '../src/core/resources.js';
import { localAgentLink, localSchedulerTransport, Master } from '../src/master/index.js';
import { HollowCluster, parseTaskDuration } from '../src/sim/index.js';
import { openStore } from '../src/store/index.js';
import { JobsFramework } from '../src/frameworks/jobs/jobs-framework.js';
import { parseJobSpec } from '../src/frameworks/jobs/spec.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const tasks = arg('tasks', 10_000);
  const jobs = arg('jobs', 1);
  const agents = arg('agents', 200);
  const keep = setInterval(() => undefined, 1000);
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-jobs-'));
  const store = await openStore(`sqlite:${join(dir, 'master.db')}`);
  const master = new Master({ store, allocationIntervalMs: 100 });
  await master.recover();
  master.start();
  const cluster = new HollowCluster({
    agents,
    link: () => localAgentLink(master),
    resources: parseResources('cpus:8;mem:16384'),
    duration: parseTaskDuration('1s'),
    heartbeatSeconds: 15,
  });
  await cluster.start();
  const fw = new JobsFramework({ store, transport: () => localSchedulerTransport(master) });
  await fw.start();
  const per = Math.ceil(tasks / jobs);
  for (let j = 0; j < jobs; j++)
    await fw.put(
      parseJobSpec({
        id: `short-${j}`,
        command: 'true',
        completions: per,
        parallelism: per,
        resources: { cpus: 0.1, mem: 32 },
      }),
    );
  const start = process.hrtime.bigint();
  const runs = Array.from({ length: jobs }, (_, j) => fw.startRun(`short-${j}`));
  for (;;) {
    if (runs.every((r) => fw.getRun(r.id).state !== 'ACTIVE')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const ok = runs.filter((r) => fw.getRun(r.id).state === 'SUCCEEDED').length;
  const total = runs.reduce((n, r) => n + fw.getRun(r.id).succeeded, 0);
  console.log(
    JSON.stringify({
      tasks: total,
      jobs,
      agents,
      runsSucceeded: ok,
      seconds: +seconds.toFixed(2),
      tasksPerSecond: Math.round(total / seconds),
    }),
  );
  fw.stop();
  await fw.flush();
  await cluster.stop();
  await master.stop();
  await store.close();
  clearInterval(keep);
  rmSync(dir, { recursive: true, force: true });
}

await main();
