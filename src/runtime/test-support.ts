/**
 * Fixtures for the runtime tests: a busybox rootfs, per-test sandboxes and overlay mounts, and
 * cleanup that runs even when a test fails. Not used outside tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { mountOverlay, unmountOverlay } from './overlay.js';
import { RUNC } from './runc-launcher.js';

export const BUSYBOX = '/bin/busybox';

/** Why the runc tests cannot run here, or false when they can. */
export function runcSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root and runc (not running as root)';
  if (spawnSync(RUNC, ['--version'], { stdio: 'ignore' }).status !== 0)
    return 'needs root and runc (runc not found)';
  if (!existsSync(BUSYBOX)) return 'needs /bin/busybox (apt-get install busybox-static)';
  return false;
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
}

/** A directory with /bin/busybox and its applet symlinks: the read-only layer of every test container. */
export function buildBusyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const sub of ['etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(dir, sub), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  return dir;
}

let counter = 0;

/** A unique task id for this test process. */
export function nextTaskId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * A sandbox and an overlay rootfs (lower = `lowerDir`) for one container test. Cleanup (runc delete,
 * unmount, remove) is registered with `t.after`, so it runs whether the test passes or not.
 */
export async function containerFixture(
  t: TestContext,
  lowerDir: string,
  stateRoot: string,
): Promise<{ id: string; sandbox: string; rootfs: string }> {
  const base = makeTempDir('ct');
  const id = nextTaskId('berth-test');
  const rootfs = join(base, 'rootfs');
  const sandbox = join(base, 'sandbox');
  mkdirSync(sandbox);
  t.after(async () => {
    spawnSync(RUNC, ['--root', stateRoot, 'kill', id, 'KILL'], { stdio: 'ignore' });
    spawnSync(RUNC, ['--root', stateRoot, 'delete', '--force', id], { stdio: 'ignore' });
    await unmountOverlay(rootfs);
    rmSync(base, { recursive: true, force: true });
  });
  await mountOverlay({
    lowerDirs: [lowerDir],
    upperDir: join(base, 'upper'),
    workDir: join(base, 'work'),
    target: rootfs,
  });
  return { id, sandbox, rootfs };
}

/** True while a pid exists and is not a zombie (an unreaped process is dead for these tests). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const DOOMED_AGENT = `
import { writeFileSync } from 'node:fs';
const [indexUrl, kind, stateRoot, specJson, outFile] = process.argv.slice(2);
const { createLauncher } = await import(indexUrl);
const { pid } = await createLauncher(kind, { stateRoot }).launch(JSON.parse(specJson));
writeFileSync(outFile, String(pid));
process.kill(process.pid, 'SIGKILL'); // the agent crashes: no cleanup, no exit handlers
`;

/**
 * Launches a task from a separate agent process that is SIGKILLed right after launch() resolves, and
 * returns the task's pid. Runs with this process's loader flags (tsx), so it works on .ts and .js alike.
 */
export function launchFromDoomedAgent(kind: 'runc' | 'process', stateRoot: string, spec: object): number {
  const dir = makeTempDir('agent');
  try {
    const script = join(dir, 'agent.mjs');
    const out = join(dir, 'pid');
    writeFileSync(script, DOOMED_AGENT);
    const indexUrl = new URL('./index.js', import.meta.url).href;
    const args = [...process.execArgv, script, indexUrl, kind, stateRoot, JSON.stringify(spec), out];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (result.signal !== 'SIGKILL') throw new Error(`agent did not crash as planned: ${result.stderr}`);
    return Number(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
