import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { apiToken, dataDir, masterUrl } from '../config.js';
import { print, warn } from '../context.js';
import { parsePort, waitForSignal } from './serve-common.js';

interface AgentOptions {
  master?: string;
  workDir?: string;
  port: string;
  listen: string;
  hostname?: string;
  resources?: string;
  attributes?: string;
  runtime?: string;
  heartbeat: string;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run an agent that joins a master and runs its tasks')
    .option('--master <urls>', 'the master, or a comma-separated list of masters (default: $BERTH_MASTER)')
    .option(
      '--work-dir <dir>',
      'where the agent keeps its state, images and sandboxes (default: <data-dir>/agent-<port>)',
    )
    .option('--port <port>', "the agent's own API port (task output, images)", '5051')
    .option('--listen <address>', 'address to listen on', '127.0.0.1')
    .option('--hostname <name>', 'the hostname to report')
    .option('--resources <spec>', 'resources to offer, e.g. "cpus:4;mem:8192;ports:[31000-32000]"')
    .option('--attributes <spec>', 'attributes for placement constraints, e.g. "rack:r1;zone:a"')
    .option('--runtime <runtime>', 'runc or process (default: runc when possible)')
    .option('--heartbeat <seconds>', 'how often to tell the master it is alive', '15')
    .addHelpText(
      'after',
      '\nExamples:\n  berth agent --master http://10.0.0.1:7070\n  berth agent --port 5052 --work-dir /var/lib/berth/a2 --resources "cpus:2;mem:2048" --attributes "rack:r1"',
    )
    .action(async (opts: AgentOptions) => {
      if (opts.runtime !== undefined && opts.runtime !== 'runc' && opts.runtime !== 'process') {
        throw new InvalidArgumentError(`bad runtime "${opts.runtime}": use runc or process`);
      }
      const heartbeat = Number(opts.heartbeat);
      if (!(heartbeat > 0)) throw new InvalidArgumentError(`bad heartbeat "${opts.heartbeat}": use seconds`);
      const port = parsePort(opts.port);
      const masters = masterUrl(opts.master)
        .split(',')
        .map((m) => m.trim().replace(/\/+$/, ''))
        .filter(Boolean);
      const [{ createLogger }, { startAgentNode }, { parseAttributes }] = await Promise.all([
        import('../../core/logger.js'),
        import('../../server/agent-node.js'),
        import('../../core/resources.js'),
      ]);
      const token = apiToken();
      const node = await startAgentNode({
        masters,
        workDir: opts.workDir ?? join(dataDir(), `agent-${port}`),
        port,
        listen: opts.listen,
        logger: createLogger('berth-agent', process.env.BERTH_LOG_LEVEL ?? 'warn'),
        heartbeatSeconds: heartbeat,
        ...(opts.hostname ? { hostname: opts.hostname } : {}),
        ...(opts.resources ? { resources: opts.resources } : {}),
        ...(opts.attributes ? { attributes: parseAttributes(opts.attributes) } : {}),
        ...(opts.runtime ? { runtime: opts.runtime as 'runc' | 'process' } : {}),
        ...(token ? { token } : {}),
      });
      if (node.runtimeNote) warn(node.runtimeNote);
      print(`berth agent is up: API on ${node.url}, joined ${masters.join(', ')} (runtime ${node.runtime})`);
      await waitForSignal();
      await node.stop();
      process.exit(0);
    });
}
