/**
 * The benchmark suite at tiny sizes, so that the harness cannot rot: every benchmark runs and writes a
 * result whose figures are sane. (The container benchmarks are skipped here, each with its reason printed.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

function results(dir: string, name: string): Array<Record<string, unknown>> {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>);
}

test(
  'the benchmark suite runs at smoke sizes and every benchmark writes a sane result',
  { timeout: 120_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-bench-smoke-'));
    try {
      const run = spawnSync(process.execPath, [resolve(import.meta.dirname, 'suite.js'), '--smoke'], {
        cwd: dir, // allocator.js writes to ./bench/results
        env: { ...process.env, BERTH_BENCH_RESULTS: dir },
        encoding: 'utf8',
        timeout: 110_000,
      });
      assert.equal(run.status, 0, `suite failed:\n${run.stdout}\n${run.stderr}`);
      console.log(run.stdout.slice(run.stdout.lastIndexOf('## suite')));
      for (const name of ['container-start', 'podman-run', 'run-latency'])
        assert.match(run.stdout, new RegExp(`${name}\\s+skipped\\s+\\S`), `${name} says why it is skipped`);
      const [scheduling] = results(dir, 'scheduling');
      assert.ok(scheduling, 'scheduling wrote a result');
      assert.equal(scheduling.running, scheduling.tasks);
      assert.ok((scheduling.tasks_per_second as number) > 0);
      const [scale] = results(dir, 'master-scale');
      assert.ok(scale, 'master-scale wrote a result');
      assert.deepEqual(scale.counts_before_restart, { active: scale.agents, running: scale.tasks });
      assert.deepEqual(scale.counts_after_restart, { active: scale.agents, running: scale.tasks });
      assert.ok((scale.master_rss_mib as number) > 10 && (scale.master_rss_mib as number) < 4096);
      assert.ok((scale.restart_complete_ms as number) > 0);
      const [allocator] = results(join(dir, 'bench/results'), 'allocator');
      assert.ok(allocator, 'allocator wrote a result');
      assert.ok((allocator.results as Array<{ median_ms: number }>).every((r) => r.median_ms > 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
