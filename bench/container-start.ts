/**
 * Benchmark 5: container start on one real agent (`berth up`, runc), beside `runc run` of the same bundle
 * (busybox on overlayfs, the config berth writes), in one run:
 *   - latency: a framework on the SDK (over HTTP) accepts an offer with one `true` task; the time to its
 *     TASK_RUNNING update and to TASK_FINISHED, interleaved with sequential `runc run`;
 *   - throughput: 200 `true` tasks, each half the agent's cpus (so two run at once), from the first offer
 *     until all have FINISHED, beside 200 `runc run` sequential and 2-way parallel.
 * Needs root and runc; skips cleanly elsewhere.
 *
 *   npm run build && node dist/bench/container-start.js [--runs 20] [--tasks 200] [--smoke]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import type { Offer, TaskInfo } from '../src/api/mesos.js';
import { parseResources, scalarOf, type Resource } from '../src/core/resources.js';
import { computeRuntimeConfig, mountOverlay, readHostLimits, unmountOverlay } from '../src/runtime/index.js';
import { HttpSchedulerTransport, SchedulerClient } from '../src/sdk/index.js';
import { LoadFramework } from '../src/sim/index.js';
import { Cluster } from '../test/integration/harness.js';
import {
  containerPrerequisites,
  median,
  numberArg,
  p90,
  printTable,
  sizeFromArgs,
  writeResult,
} from './lib.js';

const BERTH = resolve(import.meta.dirname, '../../bin/berth.js');
const BUSYBOX_TRUE: Pick<TaskInfo, 'command' | 'container'> = {
  command: { shell: false, value: 'true', arguments: ['true'] },
  container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } } },
};

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const start = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0
        ? done(performance.now() - start)
        : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}`)),
    );
  });
}

/** `total` runs of `one(worker)`, `parallel` at a time; returns the wall time in ms. */
async function batch(
  total: number,
  parallel: number,
  one: (worker: number) => Promise<unknown>,
): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async (_: unknown, w: number): Promise<void> => {
    while (next++ < total) await one(w);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return performance.now() - start;
}

/** A framework that launches one task at a time on whatever offer it holds, and times it. */
class LatencyFramework {
  private readonly offers = new Map<string, Offer>();
  private offerWaiter: (() => void) | undefined;
  private readonly watch = new Map<string, { running?: number; finished?: number; done: () => void }>();
  readonly client: SchedulerClient;

  constructor(master: string) {
    this.client = new SchedulerClient({
      transport: new HttpSchedulerTransport({ master }),
      framework: { name: 'bench-latency', user: 'root', failover_timeout: 0 },
      reconcileIntervalMs: 0,
      handlers: {
        offers: (offers) => {
          for (const o of offers) this.offers.set(o.id.value, o);
          this.offerWaiter?.();
        },
        rescind: (id) => void this.offers.delete(id),
        update: (status) => {
          const w = this.watch.get(status.task_id.value);
          if (!w) return;
          if (status.state === 'TASK_RUNNING') w.running ??= performance.now();
          else if (status.state === 'TASK_FINISHED') {
            w.finished = performance.now();
            w.done();
          } else if (status.state !== 'TASK_STARTING' && status.state !== 'TASK_STAGING')
            throw new Error(`task ${status.task_id.value}: ${status.state} ${status.message ?? ''}`);
        },
      },
    });
  }

  private async offer(cpus: number): Promise<Offer> {
    for (;;) {
      for (const o of this.offers.values())
        if (scalarOf(o.resources as Resource[], 'cpus') >= cpus) {
          this.offers.delete(o.id.value);
          return o;
        }
      await new Promise<void>((r) => (this.offerWaiter = r));
    }
  }

  /** Launches one task; resolves with ms from the ACCEPT to RUNNING and to FINISHED. */
  async once(id: string): Promise<{ running: number; finished: number }> {
    const offer = await this.offer(0.1);
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const w: { running?: number; finished?: number; done: () => void } = { done };
    this.watch.set(id, w);
    const start = performance.now();
    await this.client.launch(
      [offer.id.value],
      [
        {
          name: id,
          task_id: { value: id },
          agent_id: offer.agent_id,
          resources: parseResources('cpus:0.1;mem:64'),
          ...BUSYBOX_TRUE,
        },
      ],
      0,
    );
    await finished;
    return { running: (w.running ?? w.finished!) - start, finished: w.finished! - start };
  }
}

async function agentCpus(master: string): Promise<number> {
  const res = await request(`${master}/api/v1/agents`);
  const { agents } = (await res.body.json()) as { agents: Array<{ resources: Resource[] }> };
  return scalarOf(agents[0]?.resources ?? [], 'cpus');
}

async function main(): Promise<void> {
  const size = sizeFromArgs();
  const runs = numberArg('runs', size === 'smoke' ? 2 : size === 'full' ? 50 : 20);
  const tasks = numberArg('tasks', size === 'smoke' ? 6 : 200);
  const skip = containerPrerequisites();
  if (skip) {
    console.log(`container-start: skipped: ${skip}`);
    writeResult('container-start', { skipped: skip });
    return;
  }
  const cluster = await Cluster.start(['--runtime', 'runc']);
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-start-'));
  const bundle = join(work, 'bundle');
  const stopKeepAlive = setInterval(() => undefined, 1000);
  try {
    await cluster.importBusybox();
    await run(process.execPath, [BERTH, 'run', '--rm', 'busybox', 'true'], cluster.env); // unpacks the layer
    const layersDir = join(cluster.home, 'images/layers/sha256');
    const layers = readdirSync(layersDir).map((d) => join(layersDir, d));
    const rootfs = join(bundle, 'rootfs');
    mkdirSync(bundle, { recursive: true });
    await mountOverlay({
      lowerDirs: layers,
      upperDir: join(work, 'upper'),
      workDir: join(work, 'work'),
      target: rootfs,
    });
    const config = computeRuntimeConfig(
      { id: 'bench', sandbox: work, args: ['true'], env: {}, rootfs, resources: { cpus: 0.1, memMiB: 64 } },
      readHostLimits(),
    );
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    // A second bundle (same rootfs, its own cgroup) for the 2-way parallel runs.
    const bundle2 = join(work, 'bundle2');
    mkdirSync(bundle2);
    writeFileSync(
      join(bundle2, 'config.json'),
      JSON.stringify(
        computeRuntimeConfig(
          {
            id: 'bench2',
            sandbox: work,
            args: ['true'],
            env: {},
            rootfs,
            resources: { cpus: 0.1, memMiB: 64 },
          },
          readHostLimits(),
        ),
      ),
    );
    let n = 0;
    const runc = (which = bundle): Promise<number> =>
      run('runc', ['--root', join(work, 'runc-state'), 'run', '--bundle', which, `bench-${n++}`]);

    // Latency, interleaved.
    const latency = new LatencyFramework(cluster.url);
    await latency.client.subscribe();
    await latency.once('warm-up');
    const toRunning: number[] = [];
    const toFinished: number[] = [];
    const runcRun: number[] = [];
    for (let i = 0; i < runs; i++) {
      runcRun.push(await runc());
      const t = await latency.once(`latency-${i}`);
      toRunning.push(t.running);
      toFinished.push(t.finished);
    }
    latency.client.close();

    // Throughput: two at a time on berth (each task half the agent's cpus), and on runc.
    const cpus = await agentCpus(cluster.url);
    const load = new LoadFramework({
      transport: new HttpSchedulerTransport({ master: cluster.url }),
      name: 'bench-throughput',
      tasks,
      taskResources: [...parseResources(`cpus:${cpus / 2};mem:64`)],
      taskTemplate: BUSYBOX_TRUE,
    });
    const start = performance.now();
    await load.start();
    await load.until((s) => s.finished + s.failed >= tasks);
    const berthMs = performance.now() - start;
    load.stop();
    if (load.stats.failed > 0) throw new Error(`${load.stats.failed} tasks failed`);
    const runcSeqMs = await batch(tasks, 1, () => runc());
    // Each worker keeps its own bundle (and so its own cgroup): two containers never share one.
    const runcParMs = await batch(tasks, 2, (w) => runc(w === 0 ? bundle : bundle2));

    const perS = (ms: number): number => tasks / (ms / 1000);
    printTable(
      ['what', 'median ms', 'p90 ms', 'tasks/s', 'ratio (goal)'],
      [
        [
          'berth: ACCEPT → TASK_RUNNING',
          median(toRunning),
          p90(toRunning),
          '',
          `${(median(toRunning) / median(runcRun)).toFixed(2)}x runc (≤ 1.5x)`,
        ],
        [
          'berth: ACCEPT → TASK_FINISHED',
          median(toFinished),
          p90(toFinished),
          '',
          `${(median(toFinished) / median(runcRun)).toFixed(2)}x runc`,
        ],
        ['runc run (same bundle)', median(runcRun), p90(runcRun), '', ''],
        [
          `berth: ${tasks} tasks, 2 at a time`,
          '',
          '',
          perS(berthMs),
          `${(perS(berthMs) / perS(runcParMs)).toFixed(2)}x runc 2-way (≥ 0.7x)`,
        ],
        [`runc run × ${tasks}, sequential`, '', '', perS(runcSeqMs), ''],
        [`runc run × ${tasks}, 2-way parallel`, '', '', perS(runcParMs), ''],
      ],
    );
    writeResult('container-start', {
      runs,
      tasks,
      agent_cpus: cpus,
      accept_to_running_ms: { median: median(toRunning), p90: p90(toRunning) },
      accept_to_finished_ms: { median: median(toFinished), p90: p90(toFinished) },
      runc_run_ms: { median: median(runcRun), p90: p90(runcRun) },
      latency_ratio: median(toRunning) / median(runcRun),
      goal_latency_ratio: 1.5,
      berth_tasks_per_s: perS(berthMs),
      runc_sequential_tasks_per_s: perS(runcSeqMs),
      runc_parallel2_tasks_per_s: perS(runcParMs),
      throughput_ratio: perS(berthMs) / perS(runcParMs),
      goal_throughput_ratio: 0.7,
    });
  } finally {
    clearInterval(stopKeepAlive);
    await unmountOverlay(join(bundle, 'rootfs')).catch(() => undefined);
    await cluster.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
