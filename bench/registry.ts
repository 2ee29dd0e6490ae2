/**
 * berth's registry beside Debian's docker-registry (Distribution 2.8) in the same run: skopeo push and
 * pull of a 5-layer image of about 200 MB (an OCI layout on disk ↔ the registry; the same client for
 * both), then manifest GETs and HEADs per second with undici. Each push goes to a fresh registry on a
 * new port, so no blob is already there and skopeo's blob cache has no mount candidates.
 * Prints a table and writes JSON to bench/results/.
 *
 *   npm run build && node dist/bench/registry.js [--runs 3] [--layer-mb 40] [--seconds 5]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { Pool } from 'undici';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const RUNS = arg('--runs', 3);
const LAYER_MB = arg('--layer-mb', 40);
const SECONDS = arg('--seconds', 5);
const MAX_REQUESTS = 200_000;
const BERTH = resolve('bin/berth.js');
const DOCKER_REGISTRY = '/usr/bin/docker-registry';

interface Server {
  child: ChildProcess;
  host: string;
  dir: string;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A gzip'd tar with one file of random bytes; returns its descriptor and diff id. */
async function writeLayer(
  blobs: string,
  mb: number,
  i: number,
): Promise<{ digest: string; size: number; diffId: string }> {
  const pack = tar.pack();
  const diff = createHash('sha256');
  const tap = new PassThrough();
  tap.on('data', (d: Buffer) => diff.update(d));
  const gz = createHash('sha256');
  let size = 0;
  const counter = new PassThrough();
  counter.on('data', (d: Buffer) => {
    gz.update(d);
    size += d.length;
  });
  const tmp = join(blobs, `layer-${i}.tmp`);
  const done = pipeline(pack, tap, createGzip({ level: 1 }), counter, createWriteStream(tmp));
  // Random bytes: gzip cannot shrink them, so the layers keep their size on the wire.
  const data = randomBytes(mb * 1024 * 1024);
  pack.entry({ name: `data-${i}.bin`, size: data.length, mode: 0o644 }, data);
  pack.finalize();
  await done;
  const digest = `sha256:${gz.digest('hex')}`;
  renameSync(tmp, join(blobs, digest.slice(7)));
  return { digest, size, diffId: `sha256:${diff.digest('hex')}` };
}

function putBlob(blobs: string, text: string): { digest: string; size: number } {
  const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  writeFileSync(join(blobs, digest.slice(7)), text);
  return { digest, size: Buffer.byteLength(text) };
}

/** An OCI layout with one image, tagged "bench". */
async function makeLayout(dir: string): Promise<number> {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layers = [];
  for (let i = 0; i < 5; i++) layers.push(await writeLayer(blobs, LAYER_MB, i));
  const config = putBlob(
    blobs,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const manifest = putBlob(
    blobs,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const ref = { 'org.opencontainers.image.ref.name': 'bench' };
  const manifests = [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: ref },
  ];
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return layers.reduce((sum, l) => sum + l.size, 0);
}

async function waitForHttp(host: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`http://${host}/v2/`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry on ${host} did not start:\n${output()}`);
}

async function startServer(kind: 'berth' | 'docker', work: string): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, `${kind}-`));
  const host = `127.0.0.1:${port}`;
  let child: ChildProcess;
  if (kind === 'berth') {
    child = spawn(process.execPath, [BERTH, 'registry', '--port', String(port), '--data-dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BERTH_LOG_LEVEL: 'error' },
    });
  } else {
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n`,
    );
    child = spawn(DOCKER_REGISTRY, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await waitForHttp(host, child, () => output);
  return { child, host, dir };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode === null) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  rmSync(server.dir, { recursive: true, force: true });
}

function timeSkopeo(policy: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('skopeo', ['--policy', policy, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Requests per second of one method on a manifest, 16 connections, bounded by count and time. */
async function manifestRate(host: string, method: 'GET' | 'HEAD', path: string): Promise<number> {
  const pool = new Pool(`http://${host}`, { connections: 16, pipelining: 1 });
  const deadline = Date.now() + SECONDS * 1000;
  let count = 0;
  const accept = 'application/vnd.oci.image.manifest.v1+json';
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && count < MAX_REQUESTS) {
      const res = await pool.request({ method, path, headers: { accept } });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode}`);
      count++;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 32 }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await pool.close();
  return count / seconds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Figures {
  push_ms: number[];
  pull_ms: number[];
  manifest_get_per_s: number;
  manifest_head_per_s: number;
}

async function measure(
  kind: 'berth' | 'docker',
  work: string,
  layoutDir: string,
  policy: string,
  figures: Figures,
  last: boolean,
): Promise<void> {
  const server = await startServer(kind, work);
  try {
    const ref = `docker://${server.host}/bench/image:1`;
    figures.push_ms.push(
      timeSkopeo(policy, ['copy', '-q', '--dest-tls-verify=false', `oci:${layoutDir}:bench`, ref]),
    );
    const out = mkdtempSync(join(work, 'pull-'));
    figures.pull_ms.push(
      timeSkopeo(policy, ['copy', '-q', '--src-tls-verify=false', ref, `oci:${out}:pulled`]),
    );
    rmSync(out, { recursive: true, force: true });
    if (last) {
      await manifestRate(server.host, 'GET', '/v2/bench/image/manifests/1'); // warm-up
      figures.manifest_get_per_s = await manifestRate(server.host, 'GET', '/v2/bench/image/manifests/1');
      figures.manifest_head_per_s = await manifestRate(server.host, 'HEAD', '/v2/bench/image/manifests/1');
    }
  } finally {
    await stopServer(server);
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-registry-'));
  try {
    const policy = join(work, 'policy.json');
    writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const layoutDir = join(work, 'layout');
    const bytes = await makeLayout(layoutDir);
    const berth: Figures = { push_ms: [], pull_ms: [], manifest_get_per_s: 0, manifest_head_per_s: 0 };
    const docker: Figures = { push_ms: [], pull_ms: [], manifest_get_per_s: 0, manifest_head_per_s: 0 };
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so that the machine's noise falls on both alike.
      await measure('docker', work, layoutDir, policy, docker, i === RUNS - 1);
      await measure('berth', work, layoutDir, policy, berth, i === RUNS - 1);
    }
    const rows: Array<[string, number, number, 'lower' | 'higher']> = [
      ['skopeo push, median ms', median(berth.push_ms), median(docker.push_ms), 'lower'],
      ['skopeo pull, median ms', median(berth.pull_ms), median(docker.pull_ms), 'lower'],
      ['manifest GET per second', berth.manifest_get_per_s, docker.manifest_get_per_s, 'higher'],
      ['manifest HEAD per second', berth.manifest_head_per_s, docker.manifest_head_per_s, 'higher'],
    ];
    console.log(
      `image: 5 layers, ${(bytes / 1e6).toFixed(1)} MB compressed; ${RUNS} runs; rates over ${SECONDS} s, 32 in flight`,
    );
    console.log(
      '(undici closes the connection after every HEAD, by design: HEAD rates include a TCP connect)',
    );
    console.log('| what | berth | docker-registry 2.8 | berth / docker |\n|---|---|---|---|');
    for (const [what, b, d, better] of rows)
      console.log(
        `| ${what} (${better} is better) | ${b.toFixed(0)} | ${d.toFixed(0)} | ${(b / d).toFixed(2)} |`,
      );
    const result = {
      benchmark: 'registry',
      when: new Date().toISOString(),
      runs: RUNS,
      image_bytes: bytes,
      layers: 5,
      berth,
      docker_registry: docker,
      ratios: Object.fromEntries(rows.map(([what, b, d]) => [what, b / d])),
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(join('bench/results', `registry-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
