/** File-system helpers shared by the image store and the registry: durable writes, fsync, temp names. */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A random file name part, for temporary files that other writers must never collide with. */
export function randomName(): string {
  return randomBytes(8).toString('hex');
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

/** Flushes a file's data to disk (fsync applies to the file, whichever descriptor asks). */
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

/** Writes a file atomically: a temporary file next to it, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${randomName()}.tmp`);
  const handle = await open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Whether this process runs as root (and so may chown, mknod and set trusted.* xattrs). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}
