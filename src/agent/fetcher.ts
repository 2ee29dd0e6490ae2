/**
 * The fetcher: gets a task's `command.uris` into its sandbox before the task starts. Sources are
 * http(s):// URLs, file:// URLs and absolute paths on the agent's host. `.tar`, `.tar.gz`/`.tgz` and
 * `.zip` are extracted in place (unless `extract: false`); `executable: true` makes the file executable
 * and is never extracted. Extraction never writes outside the sandbox: entry names with `..` or an
 * absolute path are refused, nothing is written through a symlink, and a symlink may only point inside.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, open, rm, stat, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { open as openZip, type Entry as ZipEntry, type ZipFile } from 'yauzl';
import type { CommandUri } from '../api/mesos.js';
import { BerthError } from '../core/errors.js';
import { errnoCode } from '../core/fs.js';

export class FetchFailedError extends BerthError {
  readonly code = 'ERR_FETCH_FAILED';
  constructor(
    readonly uri: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`fetching ${uri} failed: ${reason}`, options);
  }
}

/** A reason for refusing an archive entry; becomes the FetchFailedError's reason. */
class UnsafeEntryError extends Error {}

export interface FetchOptions {
  /** Per URI, download and extraction together (default 10 minutes). */
  timeoutMs?: number;
  /** The most bytes one download may have, and its extracted files together (default 8 GiB). */
  maxBytes?: number;
  /** Top-level names in `dir` that belong to someone else (the runtime's files): never written. */
  reserved?: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;

type Source = { kind: 'http'; url: URL } | { kind: 'file'; path: string };
type ArchiveKind = 'tar' | 'zip';

/** Fetches each URI into `dir` (which must exist), in order; the first failure throws FetchFailedError. */
export async function fetchUris(
  uris: readonly CommandUri[],
  dir: string,
  options: FetchOptions = {},
): Promise<void> {
  for (const uri of uris) {
    try {
      await fetchOne(uri, dir, options);
    } catch (err) {
      if (err instanceof FetchFailedError) throw err;
      throw new FetchFailedError(uri.value, describeFailure(err), { cause: err });
    }
  }
}

async function fetchOne(uri: CommandUri, dir: string, options: FetchOptions): Promise<void> {
  const source = parseSource(uri.value);
  const name = outputName(uri, source);
  const limit = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const tree = new SandboxTree(dir, limit, options.reserved ?? []);
  const target = await tree.prepareFile(name);
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const body = await openSource(source, uri.value, signal);
  await pipeline(body, byteLimit(limit), createWriteStream(target, { flags: 'wx', mode: 0o644 }), {
    signal,
  });
  if (uri.executable) {
    await chmod(target, 0o755);
    return;
  }
  const kind = archiveKind(name);
  if (uri.extract === false || !kind) return;
  if (kind === 'zip') await extractZip(target, tree);
  else await extractTar(target, tree);
}

export function parseSource(value: string): Source {
  if (value.startsWith('/')) return { kind: 'file', path: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FetchFailedError(
      value,
      'not a URL or an absolute path (use http://, https://, file:// or /path)',
    );
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return { kind: 'http', url };
  if (url.protocol === 'file:') return { kind: 'file', path: fileURLToPath(url) };
  throw new FetchFailedError(
    value,
    `unsupported scheme "${url.protocol.slice(0, -1)}" (use http, https or file)`,
  );
}

/** The sandbox-relative name: `output_file`, else the last segment of the URI's path. */
export function outputName(uri: CommandUri, source: Source): string {
  if (uri.output_file !== undefined) {
    const name = normalizeEntryName(uri.output_file);
    if (name === '') throw new FetchFailedError(uri.value, 'output_file is empty');
    return name;
  }
  const path = source.kind === 'http' ? decodeURIComponent(source.url.pathname) : source.path;
  const base = posix.basename(path);
  if (base === '' || base === '.' || base === '..' || path.endsWith('/')) {
    throw new FetchFailedError(uri.value, 'the URI names no file; set output_file');
  }
  return base;
}

export function archiveKind(name: string): ArchiveKind | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar') || lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar';
  return undefined;
}

async function openSource(source: Source, value: string, signal: AbortSignal): Promise<Readable> {
  if (source.kind === 'file') {
    const info = await stat(source.path).catch((err: unknown) => {
      throw new FetchFailedError(value, errnoCode(err) === 'ENOENT' ? 'no such file' : describeFailure(err));
    });
    if (!info.isFile()) throw new FetchFailedError(value, 'not a regular file');
    return createReadStream(source.path);
  }
  const response = await fetch(source.url, { signal, redirect: 'follow' });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new FetchFailedError(value, `HTTP ${response.status} ${response.statusText}`.trim());
  }
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}

function byteLimit(max: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > max) callback(new UnsafeEntryError(`larger than the limit of ${max} bytes`));
      else callback(null, chunk);
    },
  });
}

/** One line for a failure: the network error's cause (fetch says only "fetch failed"), or the message. */
function describeFailure(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const cause = err instanceof Error ? err.cause : undefined;
  const code = errnoCode(cause) ?? errnoCode(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  if (cause instanceof Error && err instanceof Error && err.message === 'fetch failed') return cause.message;
  return err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
}

/**
 * The normal form of an entry name: "/"-separated, no "." or empty components, no trailing "/".
 * Absolute names and ".." components are refused: they could write outside the sandbox.
 */
export function normalizeEntryName(name: string): string {
  if (name.includes('\0')) throw new UnsafeEntryError(`entry ${JSON.stringify(name)} has a NUL byte`);
  if (name.startsWith('/')) throw new UnsafeEntryError(`entry "${name}" has an absolute path`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new UnsafeEntryError(`entry "${name}" has a ".." component`);
  return parts.join('/');
}

/**
 * Whether a symlink at `name` with this target stays inside: relative, its leading ".." components
 * never climb above the sandbox, and no ".." follows a normal component (which could climb out of a
 * directory reached through another symlink).
 */
export function isContainedLinkTarget(name: string, target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  let depth = name.split('/').length - 1;
  let descended = false;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (descended || depth === 0) return false;
      depth--;
    } else descended = true;
  }
  return true;
}

/** Writes entries under one directory, never through a symlink and never outside it. */
class SandboxTree {
  /** Bytes the extracted files may still take (a bomb fills no disk). */
  private budget: number;

  constructor(
    private readonly root: string,
    maxBytes: number,
    private readonly reserved: readonly string[],
  ) {
    this.budget = maxBytes;
  }

  /** Creates the parent directories of `name`; refuses to pass through anything but a real directory. */
  private async parents(name: string): Promise<void> {
    const parts = name.split('/');
    if (this.reserved.includes(parts[0] ?? '')) {
      throw new UnsafeEntryError(`entry "${name}" would overwrite the sandbox's own "${parts[0]}"`);
    }
    let path = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      path = join(path, parts[i] ?? '');
      const info = await lstat(path).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (!info) await mkdir(path, { mode: 0o755 });
      else if (!info.isDirectory()) {
        const what = info.isSymbolicLink() ? 'a symlink' : 'a file';
        throw new UnsafeEntryError(
          `entry "${name}" would be written through ${what} at "${parts.slice(0, i + 1).join('/')}"`,
        );
      }
    }
  }

  /** Makes way for a new non-directory at `name`: an old file or link there goes, a directory stays. */
  async prepareFile(name: string): Promise<string> {
    await this.parents(name);
    const path = join(this.root, name);
    const info = await lstat(path).catch(() => undefined);
    if (info?.isDirectory()) throw new UnsafeEntryError(`entry "${name}" would replace a directory`);
    if (info) await rm(path, { force: true });
    return path;
  }

  async directory(name: string, mode: number): Promise<void> {
    if (name === '') return;
    await this.parents(name);
    const path = join(this.root, name);
    const info = await lstat(path).catch(() => undefined);
    if (info && !info.isDirectory())
      throw new UnsafeEntryError(`entry "${name}" would replace a file with a directory`);
    if (!info) await mkdir(path, { mode: (mode & 0o777) | 0o700 });
  }

  async file(name: string, mode: number, body: AsyncIterable<Buffer>): Promise<void> {
    const path = await this.prepareFile(name);
    const handle = await open(path, 'wx', 0o600);
    try {
      // A loop, not pipeline(): tar-stream's entries are streamx streams, which pipeline() cannot end.
      for await (const chunk of body) {
        this.budget -= chunk.length;
        if (this.budget < 0) throw new UnsafeEntryError('the extracted files exceed the size limit');
        for (let done = 0; done < chunk.length;)
          done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      }
      await handle.chmod(mode & 0o777);
    } finally {
      await handle.close();
    }
  }

  async symlink(name: string, target: string): Promise<void> {
    if (!isContainedLinkTarget(name, target)) {
      throw new UnsafeEntryError(`symlink "${name}" points outside the sandbox ("${target}")`);
    }
    await symlink(target, await this.prepareFile(name));
  }

  async hardlink(name: string, targetName: string): Promise<void> {
    const target = normalizeEntryName(targetName);
    const info = target === '' ? undefined : await lstat(join(this.root, target)).catch(() => undefined);
    if (!info?.isFile())
      throw new UnsafeEntryError(`hard link "${name}" must point to a file extracted before it`);
    await this.parents(target); // the target's directories must be real ones, not links
    await link(join(this.root, target), await this.prepareFile(name));
  }
}

async function extractTar(archive: string, tree: SandboxTree): Promise<void> {
  const handle = await open(archive, 'r');
  const magic = Buffer.alloc(2);
  try {
    await handle.read(magic, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const gzipped = magic[0] === 0x1f && magic[1] === 0x8b;
  const extract = tarStream.extract();
  const input = createReadStream(archive);
  const feeding = gzipped ? pipeline(input, createGunzip(), extract) : pipeline(input, extract);
  // Awaited below; until then a failure must not count as unhandled, and must end the entry loop.
  let streamFailure: unknown;
  feeding.catch((err: unknown) => {
    streamFailure ??= err;
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  try {
    for await (const entry of extract) await applyTarEntry(tree, entry.header, entry as unknown as Readable);
    await feeding;
  } catch (err) {
    // A bad gzip or tar says more than the abort it caused; a refused entry more than "premature close".
    const failure = err instanceof UnsafeEntryError ? err : (streamFailure ?? err);
    extract.destroy();
    input.destroy();
    await feeding.catch(() => undefined);
    throw failure;
  }
}

async function applyTarEntry(tree: SandboxTree, header: tarStream.Header, body: Readable): Promise<void> {
  const name = normalizeEntryName(header.name);
  const mode = header.mode ?? 0o644;
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      if (name === '') throw new UnsafeEntryError('a file entry has an empty name');
      return tree.file(name, mode, body);
    case 'directory':
      body.resume();
      return tree.directory(name, mode);
    case 'symlink':
      body.resume();
      return tree.symlink(name, header.linkname ?? '');
    case 'link':
      body.resume();
      return tree.hardlink(name, header.linkname ?? '');
    default:
      body.resume(); // devices, fifos: nothing a task needs from an artifact
  }
}

async function extractZip(archive: string, tree: SandboxTree): Promise<void> {
  const zip = await new Promise<ZipFile>((resolve, reject) =>
    openZip(archive, { lazyEntries: true, autoClose: true, validateEntrySizes: true }, (err, file) =>
      err ? reject(err) : resolve(file),
    ),
  );
  try {
    for await (const entry of zip.eachEntry()) await extractZipEntry(zip, entry, tree);
  } finally {
    zip.close();
  }
}

async function extractZipEntry(zip: ZipFile, entry: ZipEntry, tree: SandboxTree): Promise<void> {
  const name = normalizeEntryName(entry.fileName);
  const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const type = unixMode & 0o170000;
  if (entry.fileName.endsWith('/') || type === 0o040000) return tree.directory(name, unixMode || 0o755);
  if (name === '') throw new UnsafeEntryError('a file entry has an empty name');
  const body = await zip.openReadStreamPromise(entry);
  if (type === 0o120000) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return tree.symlink(name, Buffer.concat(chunks).toString('utf8'));
  }
  return tree.file(name, unixMode & 0o777 || 0o644, body);
}
