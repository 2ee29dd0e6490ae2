import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { dataDir, DEFAULT_PORT } from '../config.js';
import { print } from '../context.js';
import { parsePort, waitForSignal } from './serve-common.js';

interface MasterOptions {
  dataDir?: string;
  port: string;
  listen: string;
  agentTimeout: string;
  agentRemoval: string;
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
    .addHelpText(
      'after',
      '\nExamples:\n  berth master\n  berth master --listen 0.0.0.0 --port 7070 --agent-timeout 30',
    )
    .action(async (opts: MasterOptions) => {
      const agentTimeout = Number(opts.agentTimeout);
      const agentRemoval = Number(opts.agentRemoval);
      if (!(agentTimeout > 0) || !(agentRemoval > 0))
        throw new InvalidArgumentError('--agent-timeout and --agent-removal take seconds, more than zero');
      const dir = dataDir(opts.dataDir);
      const [{ createLogger }, { startMasterNode }] = await Promise.all([
        import('../../core/logger.js'),
        import('../../server/master-node.js'),
      ]);
      const node = await startMasterNode({
        dataDir: dir,
        port: parsePort(opts.port),
        listen: opts.listen,
        logger: createLogger('berth-master', process.env.BERTH_LOG_LEVEL ?? 'warn'),
        agentTimeoutMs: agentTimeout * 1000,
        agentRemovalMs: agentRemoval * 1000,
      });
      print(`berth master is up: API on ${node.url} (data in ${dir})`);
      if (node.tokenRequired)
        print(`clients and agents need the bearer token in ${dir}/token (or BERTH_TOKEN)`);
      await waitForSignal();
      await node.stop();
      process.exit(0);
    });
}
