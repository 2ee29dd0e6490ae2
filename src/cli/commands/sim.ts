import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { apiToken, masterUrl } from '../config.js';
import { print, warn } from '../context.js';
import { waitForSignal } from './serve-common.js';

interface SimOptions {
  agents: string;
  master?: string;
  resources: string;
  attributes?: string;
  taskDuration: string;
  exitCode: string;
  hostnamePrefix: string;
  heartbeat: string;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('attach hollow agents (real agent protocol, pretend tasks) to a master, to rehearse scale')
    .option('--agents <n>', 'how many hollow agents', '100')
    .option('--master <url>', 'the master (default: $BERTH_MASTER or http://127.0.0.1:7070)')
    .option('--resources <spec>', "each agent's resources", 'cpus:16;mem:65536;disk:102400')
    .option('--attributes <spec>', 'attributes of every agent, e.g. "rack:r1;zone:a"')
    .option('--task-duration <dist>', 'how long tasks run: 1s, exp:2s, uniform:1s-5s or forever', 'forever')
    .option('--exit-code <n>', 'the exit code of a task that ran its course', '0')
    .option('--hostname-prefix <p>', 'agents are named <p>-0, <p>-1, …', 'hollow')
    .option('--heartbeat <seconds>', 'how often each agent heartbeats', '15')
    .addHelpText(
      'after',
      '\nExamples:\n  berth sim --agents 1000\n  berth sim --agents 10000 --master http://127.0.0.1:7070 --task-duration exp:30s\n' +
        '\nEach agent holds one connection to the master: raise `ulimit -n` above the agent count on both sides.',
    )
    .action(async (opts: SimOptions) => {
      const agents = Number(opts.agents);
      if (!Number.isInteger(agents) || agents < 1)
        throw new InvalidArgumentError(`bad --agents "${opts.agents}": use a whole number, 1 or more`);
      const exitCode = Number(opts.exitCode);
      if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)
        throw new InvalidArgumentError(`bad --exit-code "${opts.exitCode}": use 0 to 255`);
      const heartbeat = Number(opts.heartbeat);
      if (!(heartbeat > 0))
        throw new InvalidArgumentError(`bad --heartbeat "${opts.heartbeat}": use seconds`);
      const [{ parseResources, parseAttributes }, { parseTaskDuration, startHttpSim }] = await Promise.all([
        import('../../core/resources.js'),
        import('../../sim/index.js'),
      ]);
      const duration = parseTaskDuration(opts.taskDuration);
      const resources = parseResources(opts.resources);
      const masters = masterUrl(opts.master)
        .split(',')
        .map((m) => m.trim().replace(/\/+$/, ''))
        .filter(Boolean);
      const token = apiToken();
      const start = Date.now();
      const sim = await startHttpSim(
        {
          masters,
          agents,
          resources,
          duration,
          exitCode,
          hostnamePrefix: opts.hostnamePrefix,
          heartbeatSeconds: heartbeat,
          ...(opts.attributes ? { attributes: parseAttributes(opts.attributes) } : {}),
          ...(token ? { token } : {}),
        },
        (n) => warn(`${n} hollow agents subscribed`),
      );
      const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
      print(
        `${agents} hollow agents joined ${masters.join(', ')} in ${Date.now() - start} ms (RSS ${rss} MiB); Ctrl-C to stop`,
      );
      await waitForSignal();
      print(`stopping: ${sim.cluster.containerizer.launched} tasks were launched on the hollow agents`);
      await sim.stop();
      process.exit(0);
    });
}
