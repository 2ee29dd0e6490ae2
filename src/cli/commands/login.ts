/**
 * `berth login HOST` checks credentials against the registry's `/v2/` (from this machine) and stores
 * them in `<BERTH_HOME or ~/.berth>/auth.json` (mode 0600); `berth logout HOST` forgets them.
 */
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { print } from '../context.js';

interface LoginOptions {
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('log in to a registry: check the credentials against it, then store them')
    .argument('<host>', 'HOST[:PORT] of the registry')
    .option('-u, --username <user>', 'the user name (asked for on a terminal when left out)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure', 'speak plain HTTP to this registry (or list it in BERTH_INSECURE_REGISTRIES)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth login 127.0.0.1:5000\n  echo "$PASSWORD" | berth login --username ci --password-stdin 127.0.0.1:5000',
    )
    .action(async (hostText: string, opts: LoginOptions) => {
      const image = await import('../../image/index.js');
      const host = image.parseRegistryHost(hostText);
      const username = opts.username ?? (await ask('Username: ', false));
      const password = opts.passwordStdin ? await readStdin() : await ask('Password: ', true);
      if (!username || !password) throw new InvalidArgumentError('a user name and a password are needed');
      const insecure = opts.insecure === true || image.insecureRegistriesFromEnv().includes(host);
      await new image.RegistryClient({ host, insecure, credentials: { username, password } }).ping();
      const store = new image.CredentialStore();
      await store.set(host, { username, password });
      print(`logged in to ${host}; credentials stored in ${store.file}`);
    });
}

export function registerLogout(program: Command): void {
  program
    .command('logout')
    .description('forget the stored credentials of a registry')
    .argument('<host>', 'HOST[:PORT] of the registry')
    .action(async (hostText: string) => {
      const image = await import('../../image/index.js');
      const host = image.parseRegistryHost(hostText);
      const removed = await new image.CredentialStore().remove(host);
      print(removed ? `removed the credentials for ${host}` : `no credentials were stored for ${host}`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks on the terminal (the answer hidden for a password); fails when stdin is not a terminal. */
async function ask(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY)
    throw new InvalidArgumentError(
      hidden
        ? 'no terminal to ask for the password: use --password-stdin'
        : 'no terminal to ask: use --username',
    );
  const { createInterface } = await import('node:readline');
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write(question);
  muted = hidden;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    if (hidden) process.stderr.write('\n');
  }
}
