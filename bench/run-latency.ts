/**
 * `berth run --rm busybox true` wall time, CLI included, beside `runc run` of the same bundle (the same
 * busybox rootfs on overlayfs), in one run. Prints a table and writes JSON to bench/results/.
 *
 *   npm run build && node dist/bench/run-latency.js [--runs 20]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { computeRuntimeConfig, mountOverlay, readHostLimits, unmountOverlay } from '../src/runtime/index.js';
import { Cluster } from '../test/integration/harness.js';
import { request } from 'undici';

const BERTH = resolve(import.meta.dirname, '../../bin/berth.js');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;

function time(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0
        ? done(Number(process.hrtime.bigint() - start) / 1e6)
        : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Submit through the run framework's API and follow the output until EXITED: berth without its CLI. */
async function timeApi(master: string): Promise<number> {
  const start = process.hrtime.bigint();
  const res = await request(`${master}/v1/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: 'busybox', command: ['true'], rm: true }),
  });
  const { id } = (await res.body.json()) as { id: string };
  const out = await request(`${master}/api/v1/tasks/${id}/output?follow=true&wait=10`);
  const text = await out.body.text();
  if (!text.includes('TASK_FINISHED')) throw new Error(`task ${id} did not finish: ${text}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

async function main(): Promise<void> {
  const cluster = await Cluster.start(['--runtime', 'runc']);
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  try {
    await cluster.importBusybox();
    // Warm-up: also unpacks the image's layer into the layer cache, which the runc bundle then uses.
    await time(process.execPath, [BERTH, 'run', '--rm', 'busybox', 'true'], cluster.env); // warm-up
    const layers = spawnSync('sh', ['-c', `ls -d ${cluster.home}/images/layers/sha256/*`], {
      encoding: 'utf8',
    })
      .stdout.trim()
      .split('\n');
    const bundle = join(work, 'bundle');
    const rootfs = join(bundle, 'rootfs');
    mkdirSync(bundle, { recursive: true });
    await mountOverlay({
      lowerDirs: layers,
      upperDir: join(work, 'upper'),
      workDir: join(work, 'work'),
      target: rootfs,
    });
    const config = computeRuntimeConfig(
      { id: 'bench', sandbox: work, args: ['true'], env: {}, rootfs, resources: { cpus: 0.1, memMiB: 128 } },
      readHostLimits(),
    );
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    const berth: number[] = [];
    const runc: number[] = [];
    const api: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Interleave the two, so that the machine's noise falls on both alike.
      runc.push(
        await time('runc', ['--root', join(work, 'runc-state'), 'run', '--bundle', bundle, `bench-${i}`]),
      );
      berth.push(await time(process.execPath, [BERTH, 'run', '--rm', 'busybox', 'true'], cluster.env));
      api.push(await timeApi(cluster.url));
    }
    const node = await time(process.execPath, ['-e', '0']);
    const result = {
      benchmark: 'run-latency',
      runs,
      when: new Date().toISOString(),
      berth_run_rm_true_ms: { median: median(berth), p90: p90(berth) },
      runc_run_true_ms: { median: median(runc), p90: p90(runc) },
      api_submit_to_exited_ms: { median: median(api), p90: p90(api) },
      node_startup_ms: node,
      ratio_median: median(berth) / median(runc),
    };
    console.log(`| what | median ms | p90 ms |\n|---|---|---|`);
    console.log(
      `| berth run --rm busybox true (CLI included) | ${median(berth).toFixed(1)} | ${p90(berth).toFixed(1)} |`,
    );
    console.log(
      `| API: POST /v1/run → EXITED record (no CLI) | ${median(api).toFixed(1)} | ${p90(api).toFixed(1)} |`,
    );
    console.log(
      `| runc run (same bundle, same overlay rootfs) | ${median(runc).toFixed(1)} | ${p90(runc).toFixed(1)} |`,
    );
    console.log(
      `ratio berth/runc: ${result.ratio_median.toFixed(2)}x with the CLI, ${(median(api) / median(runc)).toFixed(2)}x through the API (a bare \`node -e 0\` here: ${node.toFixed(1)} ms)`,
    );
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(join('bench/results', `run-latency-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    await unmountOverlay(join(work, 'bundle', 'rootfs')).catch(() => undefined);
    await cluster.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
