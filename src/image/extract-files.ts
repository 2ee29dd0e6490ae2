/**
 * Regular-file writing for the layer extractor, the part that dominates unpack time. Files are written
 * through one descriptor each (open with O_EXCL, write, fchown, fchmod, futimes, close: no path
 * lookups after the open, and never through a symlink). Small files are read into memory and written
 * in the background, several at a time, while the tar stream moves on; the extractor waits for them
 * (`flush`) before anything that could depend on them: a removal, a link, a whiteout, the end.
 */
import { open } from 'node:fs/promises';
import type { Header } from 'tar-stream';
import { errnoCode } from '../core/fs.js';

/** Files up to this size are buffered and written in the background. */
export const SMALL_FILE_BYTES = 1024 * 1024;
const MAX_IN_FLIGHT = 32;

export interface FileMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  chown: boolean;
}

/** The process's umask, read once (it bounds the mode a file gets at creation). */
const UMASK = process.umask();

/**
 * What a file needs set. `chown` is false when the file is ours already: created by this process
 * (root) in a directory this extraction made, so it has our uid and gid.
 */
export function fileMeta(header: Header, asRoot: boolean, freshParent: boolean): FileMeta {
  const uid = header.uid ?? 0;
  const gid = header.gid ?? 0;
  const ours = freshParent && uid === process.getuid?.() && gid === process.getgid?.();
  return {
    mode: (header.mode ?? 0o644) & 0o7777,
    uid,
    gid,
    mtime: header.mtime ?? new Date(0),
    chown: asRoot && !ours,
  };
}

/** Whether open(2) alone gives the file its mode: no special bits, nothing the umask removes. */
export function modeAtCreation(mode: number, umask = UMASK): boolean {
  return (mode & 0o7000) === 0 && (mode & ~umask) === mode;
}

/** Reads an entry's whole body (for small files). */
export async function readBody(entry: AsyncIterable<Buffer>, size: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of entry) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  if (length !== size) throw new Error(`unexpected end of the tar entry (${length} of ${size} bytes)`);
  return chunks;
}

/** Creates `path` (which must not exist) with `chunks` as content, then sets owner, mode and mtime. */
export async function writeFileFrom(
  path: string,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  meta: FileMeta,
): Promise<void> {
  const direct = !meta.chown && modeAtCreation(meta.mode);
  const handle = await open(path, 'wx', direct ? meta.mode : 0o600);
  try {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of chunks) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= SMALL_FILE_BYTES) {
        await handle.writev(pending.splice(0));
        pendingBytes = 0;
      }
    }
    if (pending.length > 0) await handle.writev(pending);
    if (meta.chown) {
      try {
        await handle.chown(meta.uid, meta.gid);
      } catch (err) {
        if (errnoCode(err) !== 'EPERM' && errnoCode(err) !== 'EINVAL') throw err;
      }
    }
    if (!direct) await handle.chmod(meta.mode); // after chown, which clears setuid bits
    await handle.utimes(meta.mtime, meta.mtime);
  } finally {
    await handle.close();
  }
}

/** Background writes with a bound on how many run at once; the first failure is kept for `flush`. */
export class WriteQueue {
  private readonly running = new Set<Promise<void>>();
  readonly paths = new Set<string>();
  private failure: unknown;

  async add(path: string, write: () => Promise<void>): Promise<void> {
    if (this.running.size >= MAX_IN_FLIGHT) await Promise.race(this.running);
    this.throwIfFailed();
    this.paths.add(path);
    const job: Promise<void> = write()
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.running.delete(job);
        this.paths.delete(path);
      });
    this.running.add(job);
  }

  /** Waits for every write; throws the first failure. */
  async flush(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * The chunks of `source` until `signal` aborts (then it throws the abort reason): a tar entry whose
 * stream failed underneath does not always end its body on its own.
 */
export async function* abortable(source: AsyncIterable<Buffer>, signal: AbortSignal): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let fail = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  let done = false;
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', fail);
    // An iterator that ended needs no return(); one left early (an error) is released without waiting.
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
