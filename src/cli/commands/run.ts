import type { Command } from 'commander';
import { InvalidArgumentError, isBerthError } from '../../core/errors.js';
import { parseCpus, parseMemSize } from '../../core/units.js';
import type { RunRequest, RunTask } from '../../frameworks/run/types.js';
import type { ApiClient } from '../client.js';
import { clientFor, exit, print, warn, withMaster } from '../context.js';
import { streamOutput } from '../output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface RunOptions {
  master?: string;
  rm?: boolean;
  detach?: boolean;
  name?: string;
  cpus?: string;
  mem?: string;
  env: string[];
  workdir?: string;
}

function toRequest(image: string, command: string[], opts: RunOptions): RunRequest {
  const env: Record<string, string> = {};
  for (const pair of opts.env) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`bad environment variable "${pair}": use -e KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/'))
    throw new InvalidArgumentError(`bad working directory "${opts.workdir}": it must be absolute`);
  return {
    image,
    ...(command.length > 0 ? { command } : {}),
    env,
    ...(opts.workdir ? { workdir: opts.workdir } : {}),
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.cpus !== undefined ? { cpus: parseCpus(opts.cpus) } : {}),
    ...(opts.mem !== undefined ? { mem: parseMemSize(opts.mem) } : {}),
    rm: opts.rm === true,
  };
}

/** The shell's convention: the task's exit code, 128+N for a signal, 125 when it never ran. */
export function exitCodeOf(task: { state: string; exit_code?: number; message?: string }): number {
  if (task.exit_code !== undefined) return task.exit_code;
  if (task.state === 'TASK_KILLED') return 137;
  return 125;
}

export function registerRun(program: Command): void {
  withMaster(program.command('run'))
    .description('run a one-off task from an image and stream its output')
    .argument('<image>', 'image NAME[:TAG]')
    .argument('[command...]', "command and arguments (default: the image's)")
    .option('--rm', 'remove the sandbox (logs and writable layer) when the task ends')
    .option('-d, --detach', 'print the task id and return at once')
    .option('--name <name>', 'a name for the task')
    .option('--cpus <n>', 'cpus to reserve, e.g. 0.5 (default 0.1)')
    .option('--mem <size>', 'memory limit, e.g. 64M or 1G (default 128M)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .passThroughOptions()
    .addHelpText(
      'after',
      "\nExamples:\n  berth run --rm busybox echo hello\n  berth run -d --name web --mem 64M busybox httpd -f -p 8080\n  berth run --rm -e NAME=world busybox sh -c 'echo hello $NAME'",
    )
    .action(async (image: string, command: string[], opts: RunOptions) => {
      exit.code = await runTask(image, command, opts);
    });
}

/**
 * What `berth run` does once its arguments are parsed, shared by the commander command and the fast path
 * (`../fast-run.ts`): submit, then print the id (`-d`) or follow the output to the end. Resolves with the
 * exit code.
 */
export async function runTask(
  image: string,
  command: string[],
  opts: RunOptions,
  client: ApiClient = clientFor(opts),
): Promise<number> {
  const { id } = await client.post<{ id: string; name: string }>('/v1/run', toRequest(image, command, opts));
  if (!opts.detach) return attach(client, id);
  print(id);
  return 0;
}

async function attach(client: ApiClient, id: string): Promise<number> {
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    warn(`stopping task ${id} (press Ctrl-C again to leave it running)`);
    void client.post(`/api/v1/tasks/${id}/kill?grace=10`).catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let waitingShown = false;
  try {
    for (;;) {
      try {
        const final = await streamOutput(client, id, { follow: true, waitSeconds: 10 });
        if (final) {
          if (final.exit_code === undefined && final.message) warn(final.message);
          return exitCodeOf(final);
        }
        warn(`lost the task's output stream; the task goes on: follow it with \`berth logs -f ${id}\``);
        return 125;
      } catch (err) {
        if (!isBerthError(err) || err.code !== 'ERR_TASK_NOT_FOUND') throw err;
        const task = await client.get<RunTask>(`/v1/run/${id}`);
        if (task.state !== 'PENDING') throw err;
        if (!waitingShown) warn(`task ${id} is waiting for resources (${task.cpus} cpus, ${task.mem} MiB)`);
        waitingShown = true;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
