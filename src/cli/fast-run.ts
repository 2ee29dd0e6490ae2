/**
 * The fast path of `berth run`: the launcher (`bin/berth.js`) comes here first for `berth run …`, so a
 * one-off container does not pay for loading commander and every other command (about half the CLI's
 * start-up time). Only the plain forms of the command's options are understood here; anything else
 * (`--help`, an unknown or combined flag, a missing value, several masters to choose a leader from) returns
 * `undefined`, and the launcher hands the whole command line to the full CLI, which parses it as always.
 * `fast-run.test.ts` parses every option of the full `run` command both ways: a new option fails it until
 * it is added here.
 */
import { describeError, exitCodeFor, isBerthError } from '../core/errors.js';
import { ApiClient } from './client.js';
import { runTask, type RunOptions } from './commands/run.js';
import { apiToken, masterUrl } from './config.js';

export interface ParsedRun {
  image: string;
  command: string[];
  opts: RunOptions;
}

const FLAGS: Record<string, 'rm' | 'detach'> = { '--rm': 'rm', '-d': 'detach', '--detach': 'detach' };
const VALUES: Record<string, 'name' | 'cpus' | 'mem' | 'env' | 'workdir' | 'master'> = {
  '--name': 'name',
  '--cpus': 'cpus',
  '--mem': 'mem',
  '-e': 'env',
  '--env': 'env',
  '-w': 'workdir',
  '--workdir': 'workdir',
  '--master': 'master',
};

/**
 * `args` are the words after `run`. Parsed as commander parses the `run` command (options until the image,
 * everything after it is the container's command), or `undefined` for anything the full CLI should handle.
 */
export function parseRunArgs(args: readonly string[]): ParsedRun | undefined {
  const opts: RunOptions = { env: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const flag = FLAGS[arg];
    if (flag) {
      opts[flag] = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = VALUES[eq > 0 ? arg.slice(0, eq) : arg];
    if (!name) return undefined;
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return undefined;
    if (name === 'env') opts.env.push(value);
    else opts[name] = value;
  }
  const [image, ...command] = args.slice(i);
  if (image === undefined) return undefined;
  const master = opts.master ?? process.env.BERTH_MASTER;
  if (master?.includes(',')) return undefined; // finding the leader is the full CLI's job
  return { image, command, opts };
}

/** One line on stderr for a failed command, and its exit code: the same for the fast path and the full CLI. */
export function reportFailure(err: unknown): number {
  if (process.env.BERTH_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.stderr.write(`berth: ${describeError(err)}\n`);
  return isBerthError(err) ? exitCodeFor(err.code) : 70;
}

/** Runs `berth run …` from `argv` (as `process.argv`), or resolves `undefined` to leave it to the full CLI. */
export async function fastRun(argv: readonly string[]): Promise<number | undefined> {
  if (argv[2] !== 'run') return undefined;
  const parsed = parseRunArgs(argv.slice(3));
  if (!parsed) return undefined;
  try {
    const { opts } = parsed;
    return await runTask(
      parsed.image,
      parsed.command,
      opts,
      new ApiClient(masterUrl(opts.master), apiToken()),
    );
  } catch (err) {
    return reportFailure(err);
  }
}
