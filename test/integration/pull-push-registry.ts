/**
 * Debian's docker-registry (Distribution 2.8), the real peer for pull and push: started on a free
 * loopback port with filesystem storage in a temp dir, optionally with htpasswd (bcrypt) auth. Its
 * access log is kept, so tests can count the requests berth made.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function registryMissing(): string | undefined {
  return spawnSync(REGISTRY_BIN, ['--version']).status === 0
    ? undefined
    : `needs ${REGISTRY_BIN} (apt-get install docker-registry)`;
}

export function htpasswdMissing(): string | undefined {
  return spawnSync('htpasswd', ['-h']).error
    ? 'needs htpasswd for bcrypt (apt-get install apache2-utils)'
    : undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class DockerRegistry {
  log = '';
  private constructor(
    readonly host: string,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(options: { users?: Record<string, string> } = {}): Promise<DockerRegistry> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
    const port = await freePort();
    const auth = options.users ? writeHtpasswd(dir, options.users) : '';
    const config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`;
    writeFileSync(join(dir, 'config.yml'), config);
    const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const registry = new DockerRegistry(`127.0.0.1:${port}`, dir, child);
    child.stdout?.on('data', (d: Buffer) => (registry.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (registry.log += d.toString()));
    await registry.waitUntilUp();
    return registry;
  }

  /** Access-log lines ("GET /v2/… HTTP/1.1" 200) that match. */
  count(pattern: RegExp): number {
    return this.log.split('\n').filter((line) => / HTTP\/1\.1" \d{3} /.test(line) && pattern.test(line))
      .length;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitUntilUp(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`http://${this.host}/v2/`).then(
        (r) => r.status === 200 || r.status === 401,
        () => false,
      );
      if (ok) return;
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`docker-registry did not start:\n${this.log}`);
  }
}

function writeHtpasswd(dir: string, users: Record<string, string>): string {
  const lines = Object.entries(users).map(([user, password]) => {
    const r = spawnSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    return r.stdout.trim();
  });
  const file = join(dir, 'htpasswd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${file}\n`;
}
