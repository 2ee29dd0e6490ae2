/**
 * Time of ONE allocation cycle (`Allocator.allocate()`, everything in memory, the offer callback only
 * counting) on clusters shaped like Mesos's own allocator benchmark: agents of
 * cpus:16;mem:65536;disk:1048576;ports:[31000-32000], frameworks spread over 10 roles (two of them
 * nested, some weighted, a few with quota), half the agents partly allocated, a few with reservations.
 * Prints a table and writes JSON to bench/results/.
 *
 *   npm run build && node dist/bench/allocator.js [--full] [--runs 5] [--digest] [--no-gc]
 *
 * `--digest` also prints a SHA-256 of every cycle's decisions (framework, agent, role, offered resources,
 * in order), so two builds can be checked to decide exactly the same on the same clusters.
 *
 * Each timed cycle follows a full GC (the worst case: a master's old generation collected between two
 * cycles); `--no-gc` times cycles back to back instead (a master between two full GCs).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FakeClock } from '../src/core/clock.js';
import { parseResources } from '../src/core/resources.js';
import { Allocator } from '../src/master/allocator/allocator.js';

const full = process.argv.includes('--full');
const runsArg = process.argv.indexOf('--runs');
const runs = (runsArg > 0 && Number(process.argv[runsArg + 1])) || 5;
const digest = process.argv.includes('--digest');
const fullGc = !process.argv.includes('--no-gc');

const ROLES = ['ads', 'eng/ci', 'eng/web', 'ml', 'batch', 'web', 'db', 'analytics', 'search', 'infra'];
const AGENT = parseResources('cpus:16;mem:65536;disk:1048576;ports:[31000-32000]');
const AGENT_WITH_RESERVATION = parseResources(
  'cpus:12;cpus(db):4;mem:65536;disk:1048576;ports:[31000-32000]',
);
const TASK = parseResources('cpus:8;mem:32768;disk:1024;ports:[31000-31099]');

/** Mesos 1.8's HierarchicalAllocator_BENCHMARK_Test numbers for the same sizes, for comparison. */
const MESOS_SECONDS: Record<number, number> = { 1000: 0.05, 10000: 1.1, 20000: 3.8 };

interface Built {
  allocator: Allocator;
  offers: () => number;
}

function build(agents: number, frameworks: number): Built {
  let offers = 0;
  const allocator = new Allocator({ clock: new FakeClock(0), offer: () => void offers++ });
  allocator.setWeight('ads', 2);
  allocator.setWeight('ml', 3);
  allocator.setWeight('eng', 2);
  // db starts below its guarantee, so the cycle has a stage 1 and holds headroom back.
  allocator.setQuota('db', { guarantees: { cpus: agents * 1.5, mem: agents * 4096 } });
  allocator.setQuota('batch', { limits: { cpus: agents * 2 } });
  allocator.setQuota('search', { guarantees: { cpus: agents * 0.25 }, limits: { cpus: agents * 1 } });
  for (let i = 0; i < agents; i++)
    allocator.addAgent(`agent-${i}`, i % 20 === 0 ? AGENT_WITH_RESERVATION : AGENT);
  for (let j = 0; j < frameworks; j++) allocator.addFramework(`framework-${j}`, ROLES[j % ROLES.length]!);
  // Half the agents run one task of some framework.
  for (let i = 0; i < agents; i += 2)
    allocator.recordAllocation(`framework-${(i * 7) % frameworks}`, `agent-${i}`, TASK);
  return { allocator, offers: () => offers };
}

// The garbage of building the cluster is collected before timing, so that the cycle is measured alone:
// that needs --expose-gc, so the script re-runs itself with it.
const gc = (globalThis as { gc?: () => void }).gc;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Builds the cluster once, then times `runs` cycles. Between two cycles (untimed) every offer of the
 * previous one is declined without a filter, so each timed cycle starts from the same state, as a
 * master's cycles do once offers come back; the garbage is collected before each timed cycle.
 */
function measure(agents: number, frameworks: number) {
  const built = build(agents, frameworks);
  const times: number[] = [];
  let offers = 0;
  const hash = digest ? createHash('sha256') : undefined;
  for (let run = 0; run <= runs; run++) {
    if (fullGc) gc!();
    const before = built.offers();
    const start = process.hrtime.bigint();
    const decisions = built.allocator.allocate();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    offers = built.offers() - before;
    if (run > 0) times.push(ms); // run 0 warms the JIT up on this cluster
    if (hash)
      for (const d of decisions)
        hash.update(JSON.stringify([d.frameworkId, d.agentId, d.role, d.offered, d.resources]) + '\n');
    for (const d of decisions) built.allocator.recoverResources(d.frameworkId, d.agentId, d.resources);
  }
  const sha256 = hash?.digest('hex');
  return {
    agents,
    frameworks,
    roles: ROLES.length,
    runs_ms: times,
    median_ms: median(times),
    offers,
    sha256,
  };
}

function main(): void {
  if (!gc) {
    const child = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], {
      stdio: 'inherit',
    });
    process.exit(child.status ?? 1);
  }
  const sizes: Array<[number, number]> = [
    [1000, 100],
    [10000, 1000],
  ];
  if (full) sizes.push([20000, 2000]);
  const results = sizes.map(([a, f]) => measure(a, f));
  console.log(
    'agents  frameworks  ms/cycle (median of %d, %s)  offers  Mesos 1.8',
    runs,
    fullGc ? 'each after a full GC' : 'back to back',
  );
  for (const r of results)
    console.log(
      `${String(r.agents).padStart(6)}  ${String(r.frameworks).padStart(10)}  ${r.median_ms.toFixed(1).padStart(23)}  ${String(r.offers).padStart(6)}  ${((MESOS_SECONDS[r.agents] ?? NaN) * 1000).toFixed(0).padStart(6)} ms${r.sha256 ? `  decisions ${r.sha256}` : ''}`,
    );
  mkdirSync('bench/results', { recursive: true });
  const file = join('bench/results', `allocator-${Date.now()}.json`);
  const when = new Date().toISOString();
  writeFileSync(
    file,
    JSON.stringify({ benchmark: 'allocator', when, node: process.version, runs, fullGc, results }, null, 2),
  );
  console.log(`wrote ${file}`);
}

main();
