/**
 * A whole base image from one binary: Debian's busybox-static copied into a directory, with a symlink
 * for each applet at the path `busybox --install -s` would use. No network and no root needed.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { BerthError } from '../core/errors.js';

export const BUSYBOX = '/bin/busybox';

export class BusyboxMissingError extends BerthError {
  readonly code = 'ERR_BUSYBOX_NOT_FOUND';
  constructor() {
    super(`${BUSYBOX} not found: install it with \`apt-get install busybox-static\``);
  }
}

export function createBusyboxRootfs(dir: string, busybox = BUSYBOX): void {
  if (!existsSync(busybox)) throw new BusyboxMissingError();
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'root', 'tmp', 'var'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  execFileSync('chmod', ['0755', join(dir, 'bin/busybox')]);
  execFileSync('chmod', ['1777', join(dir, 'tmp')]);
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const path = join(dir, applet);
    if (applet === 'bin/busybox' || existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(relative(dirname(path), join(dir, 'bin/busybox')), path);
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}
