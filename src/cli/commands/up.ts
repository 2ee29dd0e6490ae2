import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import type { SingleNode } from '../../up/single-node.js';
import { createBusyboxRootfs } from '../busybox-rootfs.js';
import { dataDir, DEFAULT_PORT } from '../config.js';
import { print, warn } from '../context.js';
import { COMPLETED_OPTIONS, completedBounds, parsePort, waitForSignal } from './serve-common.js';

interface UpOptions {
  dataDir?: string;
  port: string;
  listen: string;
  runtime?: string;
  resources?: string;
  demo?: boolean;
  registryPort: string;
  store?: string;
  maxCompletedTasksPerFramework: string;
  maxCompletedFrameworks: string;
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a single-node cluster in the foreground: master, one agent and the built-in frameworks')
    .option('--data-dir <dir>', 'where state lives (default: $BERTH_HOME or ~/.berth)')
    .option('--port <port>', 'API port', String(DEFAULT_PORT))
    .option(
      '--listen <address>',
      'address to listen on; anything but loopback requires the bearer token',
      '127.0.0.1',
    )
    .option('--runtime <runtime>', 'runc or process (default: runc when possible)')
    .option('--resources <spec>', 'resources to offer instead of the detected ones, e.g. "cpus:2;mem:4096"')
    .option('--demo', 'import a busybox image and run a container once the cluster is up')
    .option('--registry-port <port>', 'port of the built-in OCI registry (0: none)', '5000')
    .option(
      '--store <url>',
      'where cluster state lives: SQLite in the data dir (default), or etcd://host:2379',
    )
    .option(...COMPLETED_OPTIONS[0])
    .option(...COMPLETED_OPTIONS[1])
    .addHelpText(
      'after',
      '\nExamples:\n  berth up\n  berth up --demo\n  BERTH_HOME=/tmp/b berth up --port 7171 --runtime process',
    )
    .action(async (opts: UpOptions) => {
      if (opts.runtime !== undefined && opts.runtime !== 'runc' && opts.runtime !== 'process') {
        throw new InvalidArgumentError(`bad runtime "${opts.runtime}": use runc or process`);
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InvalidArgumentError(`bad port "${opts.port}": use a number from 0 to 65535`);
      const bounds = completedBounds(opts);
      const dir = dataDir(opts.dataDir);
      // Loaded here, not at the top: other commands start faster without the server's modules.
      const [{ createLogger }, { startSingleNode }] = await Promise.all([
        import('../../core/logger.js'),
        import('../../up/single-node.js'),
      ]);
      const logger = createLogger('berth', process.env.BERTH_LOG_LEVEL ?? 'warn');
      const node = await startSingleNode({
        dataDir: dir,
        port,
        listen: opts.listen,
        logger,
        ...(opts.runtime ? { runtime: opts.runtime as 'runc' | 'process' } : {}),
        ...(opts.resources ? { resources: opts.resources } : {}),
        registryPort: parsePort(opts.registryPort),
        ...(opts.store ? { storeUrl: opts.store } : {}),
        ...bounds,
      });
      if (node.runtimeNote) warn(node.runtimeNote);
      if (node.registryNote) warn(node.registryNote);
      print(`berth is up: API on ${node.url} (runtime ${node.runtime}, data in ${dir})`);
      if (node.registry) print(`registry on ${node.registry.url}`);
      if (node.tokenRequired)
        print(`clients need the bearer token in ${join(dir, 'token')} (or BERTH_TOKEN)`);
      if (opts.demo) await runDemo(node);
      print('press Ctrl-C to stop; tasks keep their state for the next start');
      await waitForSignal();
      print('stopping berth');
      await node.stop();
      // Task supervisors are watched with timers; they belong to the tasks, which go on without us.
      process.exit(0);
    });
}

/** Imports busybox (once) and runs one container through the `run` framework, as `berth run` would. */
async function runDemo(node: SingleNode): Promise<void> {
  const images = await node.images.list();
  if (!images.some((i) => i.repository === 'busybox' && i.tag === 'latest')) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-busybox-'));
    try {
      createBusyboxRootfs(dir);
      const image = await node.images.importRootfs(dir, 'busybox:latest');
      print(`demo: imported busybox:latest (${image.manifestDigest.slice(0, 19)})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const task = node.run.submit({
    image: 'busybox:latest',
    command: ['sh', '-c', 'echo "hello from a berth container: hostname $(hostname), pid $$"'],
    rm: true,
    mem: 64,
  });
  print(`demo: berth run --rm busybox sh -c 'echo hello …'  (task ${task.id})`);
  const record = await node.master.waitForTask(task.id, 30_000);
  if (!record) return warn('demo: the task was not launched within 30 s');
  for await (const out of node.master.output(task.id, { follow: true })) {
    if (out.type === 'OUTPUT') process.stdout.write(`  | ${Buffer.from(out.data, 'base64').toString()}`);
    else
      print(
        `demo: task ended ${out.status.state.replace('TASK_', '')} with exit code ${out.status.exit_code ?? '-'}`,
      );
  }
  print(`try: berth run --rm busybox echo hello   (BERTH_MASTER=${node.url})`);
}
