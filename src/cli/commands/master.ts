import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { dataDir, DEFAULT_PORT } from '../config.js';
import { print } from '../context.js';
import { COMPLETED_OPTIONS, completedBounds, parsePort, waitForSignal } from './serve-common.js';

interface MasterOptions {
  dataDir?: string;
  port: string;
  listen: string;
  agentTimeout: string;
  agentRemoval: string;
  store?: string;
  advertise?: string;
  leaseTtl: string;
  maxCompletedTasksPerFramework: string;
  maxCompletedFrameworks: string;
}

export function registerMaster(program: Command): void {
  program
    .command('master')
    .description('run a master (and the built-in frameworks); agents join it with `berth agent`')
    .option('--data-dir <dir>', 'where state lives (default: $BERTH_HOME or ~/.berth)')
    .option('--port <port>', 'API port', String(DEFAULT_PORT))
    .option(
      '--listen <address>',
      'address to listen on; anything but loopback requires the bearer token',
      '127.0.0.1',
    )
    .option('--agent-timeout <seconds>', 'an agent silent this long is unreachable', '75')
    .option(
      '--agent-removal <seconds>',
      'an agent unreachable this long is removed and its tasks are gone',
      '600',
    )
    .option(
      '--store <url>',
      'where state lives: SQLite in the data dir (default), or etcd://host:2379[,host:2379...] to run one of several masters',
    )
    .option('--advertise <url>', 'with etcd: the URL other masters send clients to (default: the listen URL)')
    .option(
      '--lease-ttl <seconds>',
      'with etcd: the leader lease; a dead leader is replaced after about this long',
      '3',
    )
    .option(...COMPLETED_OPTIONS[0])
    .option(...COMPLETED_OPTIONS[1])
    .addHelpText(
      'after',
      [
        '\nExamples:',
        '  berth master',
        '  berth master --listen 0.0.0.0 --port 7070 --agent-timeout 30',
        '  berth master --store etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379 --listen 0.0.0.0 \\',
        '      --advertise http://10.0.0.1:7070',
      ].join('\n'),
    )
    .action(async (opts: MasterOptions) => {
      const agentTimeout = Number(opts.agentTimeout);
      const agentRemoval = Number(opts.agentRemoval);
      if (!(agentTimeout > 0) || !(agentRemoval > 0))
        throw new InvalidArgumentError('--agent-timeout and --agent-removal take seconds, more than zero');
      const leaseTtl = Number(opts.leaseTtl);
      if (!Number.isInteger(leaseTtl) || leaseTtl < 2)
        throw new InvalidArgumentError(
          '--lease-ttl takes whole seconds, 2 or more (etcd has no shorter lease)',
        );
      if (opts.advertise !== undefined && !/^https?:\/\/[^/]+\/?$/.test(opts.advertise))
        throw new InvalidArgumentError(
          `bad --advertise "${opts.advertise}": use a URL like http://10.0.0.1:7070`,
        );
      const dir = dataDir(opts.dataDir);
      const ha = opts.store !== undefined && /^etcds?:/i.test(opts.store);
      if (!ha && opts.advertise !== undefined)
        throw new InvalidArgumentError(
          '--advertise needs --store etcd://…: only masters on etcd redirect clients',
        );
      const [{ createLogger }, { startMasterNode }, { startHaMasterNode }] = await Promise.all([
        import('../../core/logger.js'),
        import('../../server/master-node.js'),
        import('../../server/leader-node.js'),
      ]);
      const common = {
        dataDir: dir,
        port: parsePort(opts.port),
        listen: opts.listen,
        logger: createLogger('berth-master', process.env.BERTH_LOG_LEVEL ?? 'warn'),
        agentTimeoutMs: agentTimeout * 1000,
        agentRemovalMs: agentRemoval * 1000,
        ...completedBounds(opts),
      };
      if (ha) {
        const node = await startHaMasterNode({
          ...common,
          storeUrl: opts.store!,
          leaseTtlMs: leaseTtl * 1000,
          ...(opts.advertise ? { advertise: opts.advertise } : {}),
        });
        print(
          `berth master is up: API on ${node.url}, advertised as ${node.advertise} (state in ${opts.store})`,
        );
        print(
          `it leads when elected and redirects to the leader otherwise; see GET ${node.url}/api/v1/leader`,
        );
        if (node.tokenRequired)
          print(`clients, agents and the other masters need the same bearer token as ${dir}/token`);
        await waitForSignal();
        await node.stop();
        process.exit(0);
      }
      const node = await startMasterNode({ ...common, ...(opts.store ? { storeUrl: opts.store } : {}) });
      print(`berth master is up: API on ${node.url} (data in ${dir})`);
      if (node.tokenRequired)
        print(`clients and agents need the bearer token in ${dir}/token (or BERTH_TOKEN)`);
      await waitForSignal();
      await node.stop();
      process.exit(0);
    });
}
