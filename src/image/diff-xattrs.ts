/**
 * Reads overlayfs's opaque-directory marks. Node has no xattr API: one python3 process walks the tree
 * (getfattr is not always installed, and one process per directory would be slow).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BerthError } from '../core/errors.js';
import { errnoCode } from '../core/fs.js';
import { OPAQUE_XATTR } from './special-files.js';

const run = promisify(execFile);

export class XattrToolMissingError extends BerthError {
  readonly code = 'ERR_XATTR_TOOL_MISSING';
  constructor() {
    super('reading overlay opaque marks needs python3: apt-get install python3');
  }
}

const WALK = `
import os, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    try:
        if os.getxattr(d, sys.argv[2], follow_symlinks=False) == b'y':
            out.append(os.path.relpath(d, root))
    except OSError:
        pass
sys.stdout.write('\\0'.join(out))
`;

/** Relative paths ("" for the root) of the directories under `root` marked opaque. */
export async function findOpaqueDirs(root: string): Promise<Set<string>> {
  let stdout: string;
  try {
    ({ stdout } = await run('python3', ['-c', WALK, root, OPAQUE_XATTR], { maxBuffer: 64 << 20 }));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new XattrToolMissingError();
    throw err;
  }
  return new Set(
    stdout
      .split('\0')
      .filter((p) => p !== '')
      .map((p) => (p === '.' ? '' : p)),
  );
}
