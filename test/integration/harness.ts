/**
 * Starts a real `berth up` (the built CLI, as a user would run it) on a temp data dir and a free port,
 * and runs CLI commands against it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { createBusyboxRootfs } from '../../src/cli/busybox-rootfs.js';

export const BERTH = resolve(import.meta.dirname, '../../../bin/berth.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function canUseRunc(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for runc and overlayfs';
  if (spawnSync('runc', ['--version']).status !== 0) return 'needs runc (apt-get install runc)';
  return undefined;
}

/** A `berth up` on a temp data dir and a free port. */
export class Cluster {
  private process: BerthProcess | undefined;

  constructor(
    readonly home: string,
    private readonly args: string[] = [],
  ) {}

  static async start(args: string[] = []): Promise<Cluster> {
    const cluster = new Cluster(mkdtempSync(join(tmpdir(), 'berth-it-')), args);
    await cluster.up();
    return cluster;
  }

  get url(): string {
    return this.process?.url ?? '';
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, BERTH_HOME: this.home, BERTH_MASTER: this.url, BERTH_LOG_LEVEL: 'warn' };
  }

  async up(): Promise<void> {
    // No registry unless a test asks for one: the default port 5000 would collide between tests.
    const args = ['up', '--port', '0', '--registry-port', '0', ...this.args];
    this.process = await new BerthProcess(args, { ...process.env, BERTH_HOME: this.home }).start();
  }

  /** SIGTERM, as an operator's Ctrl-C would; resolves with the exit code. */
  async down(): Promise<number | null> {
    return (await this.process?.stop('SIGTERM')) ?? null;
  }

  /** Runs `berth ARGS` against this cluster. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return runCli(args, { ...this.env, ...env });
  }

  async importBusybox(ref = 'busybox:latest'): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-busybox-'));
    try {
      createBusyboxRootfs(dir);
      const r = await this.cli(['image', 'import', dir, ref]);
      if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async destroy(): Promise<void> {
    await this.down();
    reapTasks(this.home);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/**
 * Tasks outlive berth by design, so a test must remove its own: the runc containers of every agent work
 * dir under `home` (by runc's own list), the host tasks and supervisors whose working directory is under
 * it, and then the overlay mounts. Otherwise a leftover httpd keeps its port and a later test fails.
 */
export function reapTasks(home: string): void {
  const roots = spawnSync('find', [home, '-maxdepth', '3', '-type', 'd', '-name', 'runc'], {
    encoding: 'utf8',
  });
  for (const root of (roots.stdout ?? '').split('\n').filter(Boolean)) {
    const list = spawnSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' });
    for (const id of (list.stdout ?? '').split('\n').filter(Boolean))
      spawnSync('runc', ['--root', root, 'delete', '-f', id]);
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(`${home}/`)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone already, or not ours to see
    }
  }
  spawnSync('sh', ['-c', `grep -o ' ${home}[^ ]*' /proc/mounts | xargs -r -n1 umount -l`]);
}

/** Any long-running berth command (`master`, `agent`, `up`): started, signalled and restarted as a user would. */
export class BerthProcess {
  private child: ChildProcess | undefined;
  url = '';
  output = '';

  constructor(
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    const child = spawn(process.execPath, [BERTH, ...this.args], {
      env: { BERTH_LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.output = '';
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const match = /API on (http:\/\/[^\s,]+)/.exec(this.output);
      if (match) {
        this.url = match[1]!;
        return this;
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berth ${this.args.join(' ')} did not start:\n${this.output}`);
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Sends the signal and resolves with the exit code once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  }
}

/** GET a JSON document; anything but 200 is an error with the status and body. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

/** The page an instance serves at `host:port` (asked on loopback), or undefined unless 200 within a second. */
export async function pageOf(endpoint: string): Promise<string | undefined> {
  try {
    const res = await request(`http://${endpoint.replace(/^[^:]+:/, '127.0.0.1:')}/`, {
      headersTimeout: 1000,
      bodyTimeout: 1000,
    });
    const text = await res.body.text();
    return res.statusCode === 200 ? text.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `check` until it returns a value, or fails after `ms` with the last value seen. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const value = await check().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BERTH, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}
