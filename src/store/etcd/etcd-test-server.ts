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

/**
 * Test support: an etcd cluster of `size` members on loopback, each a separate /usr/bin/etcd process that
 * a test can stop and start again (same ports, same data).
 */
export class EtcdTestCluster {
  private readonly children = new Map<number, ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly members: ReadonlyArray<{ name: string; clientPort: number; peerPort: number }>,
  ) {}

  static available(): boolean {
    return existsSync(ETCD_BINARY);
  }

  static async start(size = 3): Promise<EtcdTestCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-cluster-'));
    const members = [];
    for (let i = 0; i < size; i++)
      members.push({ name: `e${i}`, clientPort: await freePort(), peerPort: await freePort() });
    const cluster = new EtcdTestCluster(dir, members);
    await Promise.all(members.map((_, i) => cluster.startMember(i, 'new')));
    await cluster.waitHealthy();
    return cluster;
  }

  get clientUrls(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** An etcd:// store URL naming every member. */
  storeUrl(namespace: string): string {
    return `etcd://${this.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')}${namespace}`;
  }

  private startMember(i: number, state: 'new' | 'existing'): Promise<void> {
    const m = this.members[i]!;
    const client = `http://127.0.0.1:${m.clientPort}`;
    const peer = `http://127.0.0.1:${m.peerPort}`;
    const initial = this.members.map((o) => `${o.name}=http://127.0.0.1:${o.peerPort}`).join(',');
    const log = openSync(join(this.dir, `${m.name}.log`), 'a');
    // prettier-ignore
    const args = [
      '--name', m.name, '--data-dir', join(this.dir, m.name),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', initial, '--initial-cluster-state', state,
      '--initial-cluster-token', 'berth-test',
    ];
    const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.children.set(i, child);
    child.once('exit', () => {
      if (this.children.get(i) === child) this.children.delete(i);
    });
    return Promise.resolve();
  }

  /** Stops members (all by default) with SIGTERM and waits for them to exit. */
  async stop(which: number[] = this.members.map((_, i) => i)): Promise<void> {
    await Promise.all(
      which.map(async (i) => {
        const child = this.children.get(i);
        if (!child) return;
        this.children.delete(i);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
        await exited;
      }),
    );
  }

  /** Starts stopped members again on their data; resolves once the cluster is healthy. */
  async start(which: number[] = this.members.map((_, i) => i)): Promise<void> {
    for (const i of which) if (!this.children.has(i)) await this.startMember(i, 'existing');
    await this.waitHealthy();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Every running member answers /health with a quorum. */
  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + 30_000;
    const running = [...this.children.keys()].map((i) => this.clientUrls[i]!);
    while (Date.now() < deadline) {
      const ok = await Promise.all(
        running.map(async (url) => {
          try {
            const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
            return res.ok && ((await res.json()) as { health?: string }).health === 'true';
          } catch {
            return false;
          }
        }),
      );
      if (ok.every(Boolean)) return;
      await sleep(100);
    }
    throw new Error(`the etcd cluster did not become healthy in 30 s; see the logs in ${this.dir}`);
  }
}
