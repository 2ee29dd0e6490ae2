import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEFAULT_MASTER = 'http://127.0.0.1:7070';
export const DEFAULT_PORT = 7070;

/** The data dir: `--data-dir`, else `$BERTH_HOME`, else `~/.berth`. */
export function dataDir(flag?: string): string {
  return resolve(flag ?? process.env.BERTH_HOME ?? join(homedir(), '.berth'));
}

export function masterUrl(flag?: string): string {
  return (flag ?? process.env.BERTH_MASTER ?? DEFAULT_MASTER).replace(/\/+$/, '');
}

/** The API token: `$BERTH_TOKEN`, else the `token` file in the data dir, if readable. */
export function apiToken(): string | undefined {
  if (process.env.BERTH_TOKEN) return process.env.BERTH_TOKEN;
  try {
    return readFileSync(join(dataDir(), 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
