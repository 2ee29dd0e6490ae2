/**
 * Test support: a single-member etcd started from /usr/bin/etcd on free loopback ports with its own data
 * directory, which a test can stop and start again (same ports, same data). Not part of the store's API.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ETCD_BINARY = process.env.BERTH_ETCD_BINARY ?? '/usr/bin/etcd';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export class EtcdTestServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  static available(): boolean {
    return existsSync(ETCD_BINARY);
  }

  static async start(): Promise<EtcdTestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-'));
    const server = new EtcdTestServer(dir, await freePort(), await freePort());
    await server.start();
    return server;
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** Starts etcd (again) on the same ports and data directory; resolves once it reports healthy. */
  async start(): Promise<void> {
    if (this.child) return;
    const client = this.clientUrl;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const log = openSync(join(this.dir, 'etcd.log'), 'a');
    // prettier-ignore
    const args = [
      '--name', 'default', '--data-dir', join(this.dir, 'data'),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`,
    ];
    const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await this.waitHealthy();
  }

  /** Stops etcd (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`etcd exited during start; see ${join(this.dir, 'etcd.log')}`);
      try {
        const res = await fetch(`${this.clientUrl}/health`);
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`etcd did not become healthy in 20 s; see ${join(this.dir, 'etcd.log')}`);
  }
}
