import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { OverlayMountFailedError, RuntimeCommandFailedError } from './errors.js';
import { firstLine, runCommand } from './run-command.js';

export interface OverlayDirs {
  /** Read-only layers, top first. */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  target: string;
}

/** mount(2) copies at most one page of options, the terminating NUL included. */
export const MOUNT_OPTIONS_MAX = 4095;

/**
 * The `-o` string for an overlay mount, and the directory to run mount in. With absolute paths the
 * lowerdir list grows with every layer; when it would not fit in a page, the lower dirs are given
 * relative to their common parent and mount runs there (the kernel resolves them against mount's cwd),
 * as Docker does. If even that does not fit, the mount is refused with a clear message.
 */
export function computeOverlayOptions(dirs: OverlayDirs): { options: string; cwd?: string } {
  const lowers = dirs.lowerDirs.map((d) => resolve(d));
  const upper = resolve(dirs.upperDir);
  const work = resolve(dirs.workDir);
  if (lowers.length === 0) throw new OverlayMountFailedError(dirs.target, 'no lower directories given');
  for (const path of [...lowers, upper, work]) {
    if (/[,:\n]/.test(path))
      throw new OverlayMountFailedError(
        dirs.target,
        `path ${path} contains "," or ":", which overlay options cannot carry`,
      );
  }
  const build = (lowerList: string[]): string =>
    `lowerdir=${lowerList.join(':')},upperdir=${upper},workdir=${work}`;
  const absolute = build(lowers);
  if (absolute.length <= MOUNT_OPTIONS_MAX) return { options: absolute };
  const cwd = commonParent(lowers);
  const relativeOptions = build(lowers.map((d) => relative(cwd, d) || '.'));
  if (relativeOptions.length <= MOUNT_OPTIONS_MAX) return { options: relativeOptions, cwd };
  throw new OverlayMountFailedError(
    dirs.target,
    `${lowers.length} layers make a ${relativeOptions.length}-byte option string, over the kernel's ${MOUNT_OPTIONS_MAX}-byte limit for mount options; use an image with fewer layers`,
  );
}

function commonParent(paths: string[]): string {
  let common = dirname(paths[0] ?? '/');
  while (!paths.every((p) => p === common || p.startsWith(common === sep ? sep : common + sep)))
    common = dirname(common);
  return common;
}

/** Mounts an overlay at `target`, creating upper, work and target first. */
export async function mountOverlay(dirs: OverlayDirs): Promise<void> {
  const { options, cwd } = computeOverlayOptions(dirs);
  for (const dir of [dirs.upperDir, dirs.workDir, dirs.target]) mkdirSync(dir, { recursive: true });
  const result = await runCommand(
    '/bin/mount',
    ['-t', 'overlay', 'overlay', '-o', options, resolve(dirs.target)],
    cwd ? { cwd } : {},
  );
  if (result.code !== 0) {
    throw new OverlayMountFailedError(
      dirs.target,
      firstLine(result.stderr) || `mount exited with status ${result.code}`,
    );
  }
}

/** Unmounts `target`; nothing to do when it is not a mount point. */
export async function unmountOverlay(target: string): Promise<void> {
  const abs = resolve(target);
  if (!isMountPoint(abs)) return;
  const result = await runCommand('/bin/umount', [abs]);
  if (result.code !== 0 && isMountPoint(abs)) {
    throw new RuntimeCommandFailedError(`umount ${abs}`, firstLine(result.stderr) || `status ${result.code}`);
  }
}

/** Whether `path` (absolute) is a mount point, from /proc/self/mountinfo (field 5, octal-escaped). */
export function isMountPoint(path: string): boolean {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => decodeMountPath(line.split(' ')[4] ?? '') === path);
}

function decodeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
