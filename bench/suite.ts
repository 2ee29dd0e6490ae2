/**
 * The benchmark suite (`npm run bench`): every benchmark of issue 7's table, one after another, each in
 * its own process, at the default sizes; `--full` for the full sizes, `--smoke` for tiny ones (what the
 * smoke test runs). Benchmarks that need root and runc are skipped elsewhere, with the reason printed.
 *
 *   npm run build && npm run bench [-- --full | --smoke] [-- --only scheduling,master-scale]
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { containerPrerequisites, sizeFromArgs, stringArg, type Size } from './lib.js';

interface Bench {
  name: string;
  /** Which rows of the table it measures. */
  rows: string;
  script: string;
  args: Record<Size, string[]>;
  /** Options for node itself. */
  nodeArgs?: string[];
  needsContainers?: boolean;
  /** Not part of the smoke run (too slow at any size); the reason is printed. */
  skipSmoke?: string;
}

export const BENCHMARKS: Bench[] = [
  {
    name: 'allocator',
    rows: '1',
    script: 'allocator.js',
    args: { smoke: ['--runs', '1'], default: [], full: ['--full'] },
  },
  {
    name: 'scheduling',
    rows: '2',
    script: 'scheduling.js',
    args: { smoke: ['--smoke'], default: [], full: ['--full'] },
  },
  {
    name: 'master-scale',
    rows: '3, 4',
    script: 'master-scale.js',
    args: { smoke: ['--smoke'], default: [], full: ['--full'] },
    nodeArgs: ['--max-old-space-size=8192'],
  },
  {
    name: 'jobs-throughput',
    rows: 'issue 6: short jobs on hollow agents',
    script: 'jobs-throughput.js',
    args: { smoke: ['--tasks', '100', '--agents', '20'], default: [], full: [] },
  },
  {
    name: 'container-start',
    rows: '5',
    script: 'container-start.js',
    args: { smoke: ['--smoke'], default: [], full: ['--full'] },
    needsContainers: true,
    skipSmoke: 'starts a real berth up with runc and runs containers: too slow for the smoke run',
  },
  {
    name: 'podman-run',
    rows: '6',
    script: 'podman-run.js',
    args: { smoke: ['--smoke'], default: [], full: ['--full'] },
    needsContainers: true,
    skipSmoke: 'starts a real berth up and podman: too slow for the smoke run',
  },
  {
    name: 'run-latency',
    rows: '5, 6 (the CLI and the API path beside runc run)',
    script: 'run-latency.js',
    args: { smoke: ['--runs', '2'], default: ['--runs', '20'], full: ['--runs', '50'] },
    needsContainers: true,
    skipSmoke: 'starts a real berth up with runc and imports busybox: too slow for the smoke run',
  },
];

export interface SuiteOutcome {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  ms: number;
}

export function runSuite(size: Size, only?: string[]): SuiteOutcome[] {
  const outcomes: SuiteOutcome[] = [];
  for (const bench of BENCHMARKS) {
    if (only && !only.includes(bench.name)) continue;
    const skip =
      (size === 'smoke' ? bench.skipSmoke : undefined) ??
      (bench.needsContainers ? containerPrerequisites() : undefined);
    if (skip) {
      console.log(`\n## ${bench.name} (table row ${bench.rows}): skipped: ${skip}`);
      outcomes.push({ name: bench.name, status: 'skipped', reason: skip, ms: 0 });
      continue;
    }
    console.log(`\n## ${bench.name} (table row ${bench.rows})`);
    const start = performance.now();
    const child = spawnSync(
      process.execPath,
      [...(bench.nodeArgs ?? []), resolve(import.meta.dirname, bench.script), ...bench.args[size]],
      { stdio: 'inherit' },
    );
    const ms = performance.now() - start;
    outcomes.push(
      child.status === 0
        ? { name: bench.name, status: 'ok', ms }
        : { name: bench.name, status: 'failed', reason: `exit ${child.status ?? child.signal}`, ms },
    );
  }
  console.log('\n## suite');
  for (const o of outcomes)
    console.log(`${o.name.padEnd(14)} ${o.status.padEnd(8)} ${(o.ms / 1000).toFixed(1)} s ${o.reason ?? ''}`);
  return outcomes;
}

if (process.argv[1] === import.meta.filename) {
  const only = stringArg('only')?.split(',');
  const outcomes = runSuite(sizeFromArgs(), only);
  if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
}
