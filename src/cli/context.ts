import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { apiToken, masterUrl } from './config.js';

/** Adds `--master URL` to a command that talks to the master. */
export function withMaster(cmd: Command): Command {
  return cmd.option(
    '--master <url>',
    'the master to talk to (default: $BERTH_MASTER or http://127.0.0.1:7070)',
  );
}

export function clientFor(opts: { master?: string }): ApiClient {
  return new ApiClient(masterUrl(opts.master), apiToken());
}

/** The exit code a command asks for; `main` returns it. */
export const exit = { code: 0 };

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`berth: ${text}\n`);
}
