/**
 * Layer unpack throughput: berth's extractLayer beside GNU `tar -xzf` on the same ~200 MB gzip layer,
 * in the same run (best of N each, alternating). Prints the ratio (goal: berth ≥ 0.8× tar's
 * throughput) and writes JSON to bench/results/.
 *
 *   npm run build && node dist/bench/layer-unpack.js [--mb 200] [--runs 3] [--keep-layer FILE]
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractLayer } from '../src/image/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** xorshift32: deterministic, so every run packs the same layer. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** 4 MiB of text-like bytes (random words), which gzip shrinks about 2-3×, like real file trees. */
function textPool(random: () => number): Buffer {
  const words = Array.from(
    { length: 512 },
    (_, i) => i.toString(36) + 'abcdefghij'.slice(0, 1 + Math.floor(random() * 8)),
  );
  const parts: string[] = [];
  let size = 0;
  while (size < 4 * 1024 * 1024) {
    const word = words[Math.floor(random() * words.length)] ?? 'x';
    parts.push(word, random() < 0.1 ? '\n' : ' ');
    size += word.length + 1;
  }
  return Buffer.from(parts.join(''));
}

/** File sizes: mostly small files, some medium, a few large (like a distro plus an app). */
function pickSize(random: () => number): number {
  const r = random();
  if (r < 0.6) return 512 + Math.floor(random() * 8192);
  if (r < 0.9) return 16_384 + Math.floor(random() * 131_072);
  if (r < 0.99) return 262_144 + Math.floor(random() * 786_432);
  return 4_194_304;
}

function generateTree(root: string, totalMb: number): number {
  const random = rng(42);
  const pool = textPool(random);
  let total = 0;
  let n = 0;
  while (total < totalMb * 1024 * 1024) {
    const size = Math.min(pickSize(random), pool.length);
    const offset = Math.floor(random() * (pool.length - size));
    const dir = join(root, `d${n % 40}`, `s${n % 9}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${n}`), pool.subarray(offset, offset + size));
    total += size;
    n++;
  }
  return n;
}

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  const mb = arg('mb', 200);
  const runs = arg('runs', 3);
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-unpack-'));
  try {
    const src = join(work, 'src');
    const files = generateTree(src, mb);
    const layer = join(work, 'layer.tar.gz');
    execFileSync('tar', ['-czf', layer, '-C', src, '.']);
    const keep = process.argv.indexOf('--keep-layer');
    if (keep >= 0) execFileSync('cp', [layer, process.argv[keep + 1] ?? 'layer.tar.gz']);
    const rawBytes = Number(
      execFileSync('sh', ['-c', `gzip -dc ${layer} | wc -c`])
        .toString()
        .trim(),
    );
    const gzBytes = statSync(layer).size;
    const tarTimes: number[] = [];
    const berthTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = join(work, `tar-${i}`);
      mkdirSync(t);
      execFileSync('sync');
      tarTimes.push(seconds(() => execFileSync('tar', ['-xzf', layer, '-C', t])));
      rmSync(t, { recursive: true, force: true });
      const b = join(work, `berth-${i}`);
      mkdirSync(b);
      execFileSync('sync');
      berthTimes.push(
        await secondsAsync(() => extractLayer(createReadStream(layer), b, { compression: 'gzip' })),
      );
      rmSync(b, { recursive: true, force: true });
    }
    const tarBest = Math.min(...tarTimes);
    const berthBest = Math.min(...berthTimes);
    const mbps = (s: number): number => Math.round((rawBytes / 1024 / 1024 / s) * 10) / 10;
    const result = {
      bench: 'layer-unpack',
      date: new Date().toISOString(),
      node: process.version,
      files,
      uncompressedBytes: rawBytes,
      gzipBytes: gzBytes,
      runs,
      tarSeconds: tarTimes,
      berthSeconds: berthTimes,
      tarMBps: mbps(tarBest),
      berthMBps: mbps(berthBest),
      ratio: Math.round((tarBest / berthBest) * 100) / 100,
      goal: 0.8,
    };
    process.stdout.write(
      `layer: ${files} files, ${(rawBytes / 1048576).toFixed(0)} MB (${(gzBytes / 1048576).toFixed(0)} MB gzip)\n` +
        `tar -xzf:      best ${tarBest.toFixed(2)} s  ${result.tarMBps} MB/s\n` +
        `extractLayer:  best ${berthBest.toFixed(2)} s  ${result.berthMBps} MB/s\n` +
        `ratio (berth/tar throughput): ${result.ratio} (goal ≥ ${result.goal})\n`,
    );
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(join('bench/results', `layer-unpack-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
