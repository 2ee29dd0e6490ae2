/**
 * Benchmark 6: `berth run --rm busybox true` wall time, CLI included, beside `podman run --rm` of the same
 * image, interleaved in one run. podman runs from its own temp configuration: storage and run dirs under
 * a temp dir, a containers.conf whose rlimits fit this machine's hard limits (no CAP_SYS_RESOURCE here),
 * cgroupfs, no network, no event log; the image is loaded from the OCI archive `berth save` writes, so no
 * network is needed. Needs root, runc and podman (`apt-get install -y podman`); skips cleanly elsewhere.
 *
 * Where the environment sets NODE_EXTRA_CA_CERTS (this machine does), Node reads and parses that CA
 * bundle at every start, before any berth code runs (about 45 ms here): berth then also runs without it,
 * and a bare `node -e 0` runs both ways, so the table shows what is Node's start and what is berth.
 * `--also PATH` adds another berth launcher (e.g. an older build's bin/berth.js) to the same runs.
 *
 *   npm run build && node dist/bench/podman-run.js [--runs 20] [--smoke] [--also OTHER/bin/berth.js]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readHostLimits } from '../src/runtime/index.js';
import { Cluster } from '../test/integration/harness.js';
import {
  containerPrerequisites,
  median,
  numberArg,
  p90,
  printTable,
  sizeFromArgs,
  stringArg,
  writeResult,
} from './lib.js';

const BERTH = resolve(import.meta.dirname, '../../bin/berth.js');

function time(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    let err = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0
        ? done(Number(process.hrtime.bigint() - start) / 1e6)
        : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

/** podman's own configuration, all under `dir`: rlimits clamped to this host's hard limits. */
function podmanSetup(dir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const limits = readHostLimits();
  const finite = (n: number | undefined): number | undefined =>
    n !== undefined && Number.isFinite(n) ? n : undefined;
  const hardNofile = finite(limits.RLIMIT_NOFILE) ?? 1024;
  // runc refuses nproc at the host's hard limit here (EPERM under conmon): a lower limit is plenty for `true`.
  const hardNproc = Math.min(finite(limits.RLIMIT_NPROC) ?? 4096, 4096);
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      `default_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=${hardNproc}:${hardNproc}"]`,
      'netns = "none"',
      'log_driver = "k8s-file"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "none"',
      'runtime = "runc"',
      `tmp_dir = "${join(dir, 'tmp')}"`,
      '',
    ].join('\n'),
  );
  const storage = join(dir, 'storage.conf');
  writeFileSync(
    storage,
    [
      '[storage]',
      'driver = "overlay"',
      `graphroot = "${join(dir, 'root')}"`,
      `runroot = "${join(dir, 'run')}"`,
      '',
    ].join('\n'),
  );
  // The same limits on the command line too: podman as root otherwise sets nproc to its own maximum.
  return {
    args: ['--ulimit', `nofile=${hardNofile}:${hardNofile}`, '--ulimit', `nproc=${hardNproc}:${hardNproc}`],
    env: { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage },
  };
}

async function main(): Promise<void> {
  const size = sizeFromArgs();
  const runs = numberArg('runs', size === 'smoke' ? 2 : size === 'full' ? 50 : 20);
  const skip =
    containerPrerequisites() ??
    (spawnSync('podman', ['--version']).status === 0
      ? undefined
      : 'needs podman (apt-get install -y podman)');
  if (skip) {
    console.log(`podman-run: skipped: ${skip}`);
    writeResult('podman-run', { skipped: skip });
    return;
  }
  const cluster = await Cluster.start(['--runtime', 'runc']);
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-podman-'));
  try {
    await cluster.importBusybox();
    const archive = join(work, 'busybox.tar');
    const saved = await cluster.cli(['save', 'busybox', '-o', archive]);
    if (saved.code !== 0) throw new Error(`berth save failed: ${saved.stderr}`);
    const podman = podmanSetup(work);
    const load = spawnSync('podman', ['load', '-i', archive], { env: podman.env, encoding: 'utf8' });
    if (load.status !== 0) throw new Error(`podman load failed: ${load.stderr}`);
    const image = /Loaded image(?:\(s\))?: (\S+)/.exec(load.stdout)?.[1] ?? 'busybox';
    const caCerts = process.env.NODE_EXTRA_CA_CERTS;
    const noCaEnv = { ...cluster.env };
    delete noCaEnv.NODE_EXTRA_CA_CERTS;
    const also = stringArg('also');
    const berthRun = (env = cluster.env, bin = BERTH): Promise<number> =>
      time(process.execPath, [bin, 'run', '--rm', 'busybox', 'true'], env);
    const rows: Array<{ what: string; run: () => Promise<number>; ms: number[] }> = [
      { what: 'berth run --rm busybox true (CLI included)', run: () => berthRun(), ms: [] },
      ...(caCerts
        ? [{ what: '  same, NODE_EXTRA_CA_CERTS unset', run: () => berthRun(noCaEnv), ms: [] }]
        : []),
      ...(also ? [{ what: `  same, ${also}`, run: () => berthRun(cluster.env, resolve(also)), ms: [] }] : []),
      {
        what: 'podman run --rm busybox true',
        run: () =>
          time('podman', ['run', '--rm', '--network', 'none', ...podman.args, image, 'true'], podman.env),
        ms: [],
      },
      { what: 'node -e 0 (reference: Node alone)', run: () => time(process.execPath, ['-e', '0']), ms: [] },
      ...(caCerts
        ? [
            {
              what: '  same, NODE_EXTRA_CA_CERTS unset',
              run: () => time(process.execPath, ['-e', '0'], noCaEnv),
              ms: [],
            },
          ]
        : []),
    ];
    // Warm-up: berth unpacks the layer into its cache, podman's first container sets up its storage.
    for (const row of rows) await row.run();
    for (let i = 0; i < runs; i++) for (const row of rows) row.ms.push(await row.run());
    const [berth, ...others] = rows;
    const pod = rows.find((r) => r.what.startsWith('podman'))!;
    const noCa = caCerts ? others[0] : undefined;
    const ratio = median(berth!.ms) / median(pod.ms);
    printTable(
      ['what', 'median ms', 'p90 ms'],
      rows.map((r) => [r.what, median(r.ms), p90(r.ms)]),
    );
    console.log(`ratio berth/podman: ${ratio.toFixed(2)}x (goal ≤ 0.5x), ${runs} runs each, interleaved`);
    if (noCa)
      console.log(
        `without NODE_EXTRA_CA_CERTS (${caCerts}, read by Node at every start): ${(median(noCa.ms) / median(pod.ms)).toFixed(2)}x`,
      );
    writeResult('podman-run', {
      runs,
      berth_run_rm_true_ms: { median: median(berth!.ms), p90: p90(berth!.ms), all: berth!.ms },
      ...(noCa
        ? {
            berth_run_rm_true_no_extra_ca_certs_ms: {
              median: median(noCa.ms),
              p90: p90(noCa.ms),
              all: noCa.ms,
            },
          }
        : {}),
      podman_run_rm_true_ms: { median: median(pod.ms), p90: p90(pod.ms), all: pod.ms },
      rows: rows.map((r) => ({ what: r.what.trim(), median: median(r.ms), p90: p90(r.ms) })),
      ratio_median: ratio,
      ...(noCa ? { ratio_median_no_extra_ca_certs: median(noCa.ms) / median(pod.ms) } : {}),
      goal_ratio: 0.5,
    });
  } finally {
    spawnSync('sh', ['-c', `grep -o ' ${work}[^ ]*' /proc/mounts | xargs -r -n1 umount -l`]);
    await cluster.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
