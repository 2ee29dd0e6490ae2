/** What the benchmarks share: sizes from the command line, tables, results in bench/results/. */
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Size = 'smoke' | 'default' | 'full';

export function sizeFromArgs(argv = process.argv): Size {
  if (argv.includes('--smoke')) return 'smoke';
  if (argv.includes('--full')) return 'full';
  return 'default';
}

/** A numeric `--name N` from the command line, or the fallback. */
export function numberArg(name: string, fallback: number, argv = process.argv): number {
  const i = argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export function stringArg(name: string, argv = process.argv): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i > 0 ? argv[i + 1] : undefined;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

export const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** Resident set size of a process, in MiB (from /proc; this process when no pid is given). */
export function rssMiB(pid?: number): number {
  if (pid === undefined) return process.memoryUsage().rss / 2 ** 20;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Prints a markdown table: a header row and rows of cells. */
export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells) console.log(line(r));
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Writes `bench/results/<name>-<time>.json` (or under BERTH_BENCH_RESULTS) and returns its path. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const dir = process.env.BERTH_BENCH_RESULTS ?? 'bench/results';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${Date.now()}.json`);
  const body = { benchmark: name, when: new Date().toISOString(), node: process.version, ...result };
  writeFileSync(file, JSON.stringify(body, null, 2));
  console.log(`wrote ${file}`);
  return file;
}

/** Whether this machine can run the container benchmarks: root, and runc on the PATH. */
export function containerPrerequisites(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (runc containers)';
  const found = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'runc')));
  return found ? undefined : 'needs runc on the PATH';
}

/** Keeps the event loop alive (the master's and agents' timers are unref'd) until the returned stop(). */
export function keepAlive(): () => void {
  const timer = setInterval(() => undefined, 1000);
  return () => clearInterval(timer);
}
