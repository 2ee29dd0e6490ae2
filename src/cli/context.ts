import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { apiToken, masterUrl } from './config.js';

/**
 * Adds `--master URL` to a command that talks to the master. Several masters (comma-separated, in the
 * flag or in BERTH_MASTER) are asked who leads, and the command talks to the leader.
 */
export function withMaster(cmd: Command): Command {
  return cmd
    .option(
      '--master <url>',
      'the master to talk to, or several comma-separated (default: $BERTH_MASTER or http://127.0.0.1:7070)',
    )
    .hook('preAction', async (_cmd, action) => {
      const given = action.opts<{ master?: string }>().master ?? process.env.BERTH_MASTER;
      if (!given?.includes(',')) return;
      action.setOptionValue('master', await findLeader(given.split(','), apiToken()));
    });
}

/** The listed master that says it leads (waiting out an election), else the leader named, else the first. */
export async function findLeader(masters: string[], token?: string, waitMs = 15_000): Promise<string> {
  const urls = masters.map((m) => m.trim().replace(/\/+$/, '')).filter(Boolean);
  const deadline = Date.now() + waitMs;
  let named: string | undefined;
  do {
    for (const url of urls) {
      try {
        const res = await fetch(`${url}/api/v1/leader`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
          signal: AbortSignal.timeout(2000),
        });
        if (!res.ok) continue;
        const body = (await res.json()) as { is_leader?: boolean; leader?: { url?: unknown } | null };
        if (body.is_leader === true) return url;
        if (typeof body.leader?.url === 'string') named = body.leader.url;
      } catch {
        // this master is down or slow: ask the next
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  } while (Date.now() < deadline);
  return named ?? urls[0] ?? masterUrl();
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
