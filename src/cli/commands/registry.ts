import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { dataDir } from '../config.js';
import { print, warn } from '../context.js';
import { parsePort, waitForSignal } from './serve-common.js';

interface RegistryOptions {
  port: string;
  listen: string;
  dataDir?: string;
  htpasswd?: string;
  gcInterval?: string;
  gcGrace: string;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, '': 1000 };

/** "90", "90s", "30m", "1h" → milliseconds (a bare number is seconds). */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`bad ${flag} "${text}": use e.g. 90s, 30m or 1h`);
  return Number(match[1]) * UNITS[match[2] ?? '']!;
}

export function registerRegistry(program: Command): void {
  program
    .command('registry')
    .description('run an OCI Distribution registry in the foreground (what `docker push`/`skopeo` talk to)')
    .option('--port <port>', 'port to listen on', '5000')
    .option('--listen <address>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where blobs and metadata live (default: <berth data dir>/registry)')
    .option(
      '--htpasswd <file>',
      'require basic auth from this htpasswd file (bcrypt from htpasswd -B, {SHA} or $apr1$ entries)',
    )
    .option(
      '--gc-interval <duration>',
      'collect garbage this often, e.g. 1h (default: only on POST /admin/gc)',
    )
    .option('--gc-grace <duration>', 'unreferenced content younger than this is never collected', '1h')
    .addHelpText(
      'after',
      '\nExamples:\n  berth registry\n  berth registry --port 5001 --data-dir /srv/registry --htpasswd /etc/berth/htpasswd --gc-interval 6h',
    )
    .action(async (opts: RegistryOptions) => {
      const port = parsePort(opts.port);
      const root = opts.dataDir ?? join(dataDir(), 'registry');
      const gcGraceMs = parseDuration(opts.gcGrace, '--gc-grace');
      const gcIntervalMs = opts.gcInterval ? parseDuration(opts.gcInterval, '--gc-interval') : undefined;
      // Loaded here, not at the top: other commands start faster without the server's modules.
      const [{ createLogger }, { startRegistry }] = await Promise.all([
        import('../../core/logger.js'),
        import('../../registry/index.js'),
      ]);
      const logger = createLogger('berth-registry', process.env.BERTH_LOG_LEVEL ?? 'warn');
      const registry = await startRegistry({
        root,
        port,
        listen: opts.listen,
        gcGraceMs,
        logger,
        ...(opts.htpasswd ? { htpasswd: opts.htpasswd } : {}),
        ...(gcIntervalMs ? { gcIntervalMs } : {}),
      });
      if (!opts.htpasswd && !/^(127\.|::1$|localhost$)/.test(opts.listen))
        warn(`the registry listens on ${opts.listen} without --htpasswd: anyone who can reach it may push`);
      print(`registry is up: ${registry.url} (data in ${root})`);
      await waitForSignal();
      await registry.close();
    });
}
