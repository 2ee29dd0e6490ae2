/** File-system helpers of the registry: durable writes and renames. */
import { open, type FileHandle } from 'node:fs/promises';

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

/** Flushes a file's data to disk. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory, so that a rename inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
    if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'EISDIR') throw err;
  } finally {
    await handle?.close();
  }
}
