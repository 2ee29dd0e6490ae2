import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { errnoCode } from '../core/fs.js';

const run = promisify(execFile);

/** Where the overlayfs whiteout conventions live (see DESIGN.md, "Facts about these machines"). */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

function mknodCommand(): string {
  return existsSync('/usr/bin/mknod') ? '/usr/bin/mknod' : 'mknod';
}

/**
 * Creates a device node or a fifo with mknod(1): Node has no mknod(2). Devices need root; a fifo
 * ("p") does not.
 */
export async function makeNode(path: string, kind: 'c' | 'b' | 'p', major = 0, minor = 0): Promise<void> {
  const args = kind === 'p' ? [path, 'p'] : [path, kind, String(major), String(minor)];
  await run(mknodCommand(), args);
}

/**
 * Marks a directory opaque for overlayfs (`trusted.overlay.opaque=y`). Node cannot set xattrs, so
 * this uses setfattr(1), and python3's os.setxattr where setfattr is not installed. Returns false
 * when neither is available.
 */
export async function setOpaqueXattr(dir: string): Promise<boolean> {
  try {
    await run('setfattr', ['-n', OPAQUE_XATTR, '-v', 'y', dir]);
    return true;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  try {
    await run('python3', ['-c', `import os,sys; os.setxattr(sys.argv[1], '${OPAQUE_XATTR}', b'y')`, dir]);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Reads an xattr with python3 (for tests and checks); undefined when unset or python3 is missing. */
export async function readXattr(path: string, name: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('python3', [
      '-c',
      'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2]).decode())',
      path,
      name,
    ]);
    return stdout;
  } catch {
    return undefined;
  }
}
