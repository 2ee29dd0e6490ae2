import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { HashingStream } from './digest.js';
import { BadLayerError } from './errors.js';
import {
  abortable,
  fileMeta,
  readBody,
  SMALL_FILE_BYTES,
  WriteQueue,
  writeFileFrom,
} from './extract-files.js';
import { errnoCode, runningAsRoot } from '../core/fs.js';
import { ByteCounter, ExpansionGuard, type LayerLimits } from './layer-limits.js';
import { asArchiveError } from './repack-tar.js';
import { asNodeWritable, type TarEntry } from './tar-entries.js';
import { makeNode, setOpaqueXattr } from './special-files.js';
import { ancestorsOf, baseNameOf, normalizeEntryPath, parentOf } from './tar-path.js';

export interface ExtractLayerOptions extends LayerLimits {
  compression?: 'gzip' | 'none';
  /** When given, the uncompressed tar must hash to it (ERR_BAD_LAYER otherwise). */
  expectedDiffId?: string;
  /** Whether to chown and create device nodes and whiteouts; defaults to "running as root". */
  asRoot?: boolean;
}

export interface ExtractLayerResult {
  diffId: string;
  entries: number;
  /** What could not be reproduced (device nodes without root, xattrs without tools). */
  notes: string[];
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Unpacks one layer into the existing directory `target`, never writing outside it: names with
 * ".." or an absolute path, hard links out of the tree, and paths through a symlink are refused
 * with ERR_BAD_LAYER. Whiteouts are recorded the overlayfs way (a 0/0 character device for
 * `.wh.NAME`, `trusted.overlay.opaque=y` for `.wh..wh..opq`), since each layer is a lower dir.
 */
export async function extractLayer(
  source: Readable,
  target: string,
  options: ExtractLayerOptions = {},
): Promise<ExtractLayerResult> {
  const abort = new AbortController();
  const writer = new LayerWriter(target, options.asRoot ?? runningAsRoot(), abort.signal);
  // Before the stream starts: tar-stream drops entries that arrive while nobody iterates.
  await writer.init();
  const expected = options.expectedDiffId;
  const diff = new HashingStream(
    expected,
    (actual) => new BadLayerError(`layer content hashes to ${actual}, not to its diff id ${expected ?? ''}`),
  );
  const extract = tar.extract();
  const compressed = new ByteCounter();
  const guard = new ExpansionGuard(options, options.compression === 'gzip' ? compressed : undefined);
  const feeding =
    options.compression === 'gzip'
      ? pipeline(
          source,
          compressed,
          createGunzip({ chunkSize: 256 * 1024 }),
          guard,
          diff,
          asNodeWritable(extract),
        )
      : pipeline(source, guard, diff, asNodeWritable(extract));
  // Awaited below; until then a failure must not count as unhandled, and must end the entry loop.
  let streamFailure: unknown;
  feeding.catch((err: unknown) => {
    streamFailure ??= err;
    const error = err instanceof Error ? err : new Error(String(err));
    abort.abort(error); // a body being written stops too
    extract.destroy(error);
  });
  let entries = 0;
  try {
    for await (const entry of extract) {
      await writer.apply(entry);
      entries++;
    }
    await feeding;
    await writer.finish();
  } catch (err) {
    // When the stream failed first (bad gzip, a limit, a wrong digest), its error says more than
    // the abort it caused; when the writer refused an entry, the stream's "premature close" is noise.
    const failure = streamFailure ?? err;
    await writer.settle().catch(() => undefined);
    extract.destroy();
    source.destroy();
    await feeding.catch(() => undefined);
    throw asArchiveError(failure, 'the layer');
  }
  return { diffId: diff.digest(), entries, notes: writer.notes };
}

interface DirMeta {
  mode: number;
  mtime: Date;
}

/** Applies entries one by one; directories get their mode and mtime at the end (`finish`). */
class LayerWriter {
  readonly notes: string[] = [];
  /** Relative paths known to be real directories in the target (not symlinks). */
  private readonly knownDirs = new Set<string>(['']);
  /** Directories this extraction made: whatever is in them, it wrote (and lists in `written`). */
  private readonly freshDirs = new Set<string>();
  private readonly written = new Set<string>();
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly writes = new WriteQueue();

  constructor(
    private readonly root: string,
    private readonly asRoot: boolean,
    private readonly signal: AbortSignal,
  ) {}

  /** Notes whether the target starts empty, so that files in it need no check for an older entry. */
  async init(): Promise<void> {
    if ((await readdir(this.root)).length === 0) this.freshDirs.add('');
  }

  /** Waits for the background writes (before the caller gives up on the layer, too). */
  settle(): Promise<void> {
    return this.writes.flush();
  }

  async apply(entry: TarEntry): Promise<void> {
    const header = entry.header;
    const type = header.type ?? 'file';
    if (type !== 'file' && type !== 'contiguous-file') entry.resume();
    const name = normalizeEntryPath(header.name, { allowAbsolute: false });
    if (name === '') return; // the layer's root directory; the target stands for it
    await this.ensureParents(name);
    const base = baseNameOf(name);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.applyWhiteout(name, base);
    await this.applyEntry(name, type, header, entry);
    this.written.add(name);
  }

  private async applyEntry(name: string, type: string, header: Header, body: TarEntry): Promise<void> {
    const path = join(this.root, name);
    switch (type) {
      case 'directory':
        return this.makeDirectory(name, header);
      case 'file':
      case 'contiguous-file':
        return this.writeFile(name, header, body);
      case 'symlink':
        await this.flushFor(name);
        await this.clear(name);
        await symlink(header.linkname ?? '', path);
        return this.setMetadata(path, header, true);
      case 'link':
        return this.makeHardLink(name, header.linkname ?? '');
      case 'character-device':
      case 'block-device':
      case 'fifo':
        return this.makeSpecial(name, type, header);
      default:
        throw new BadLayerError(`layer entry "${name}" has an unsupported type (${type})`, name);
    }
  }

  /** Small files are written in the background; big ones here, streamed. */
  private async writeFile(name: string, header: Header, body: TarEntry): Promise<void> {
    await this.flushFor(name);
    await this.clear(name);
    const path = join(this.root, name);
    const meta = fileMeta(header, this.asRoot, this.freshDirs.has(parentOf(name)));
    const size = header.size ?? 0;
    if (size > SMALL_FILE_BYTES)
      return writeFileFrom(path, abortable(body as AsyncIterable<Buffer>, this.signal), meta);
    const chunks = await readBody(abortable(body as AsyncIterable<Buffer>, this.signal), size);
    await this.writes.add(name, () => writeFileFrom(path, chunks, meta));
  }

  /** Waits for background writes when `name` is one of them (it is about to be replaced). */
  private async flushFor(name: string): Promise<void> {
    if (this.writes.paths.has(name)) await this.writes.flush();
  }

  /** Sets the deferred directory modes and mtimes, deepest first. */
  async finish(): Promise<void> {
    await this.writes.flush();
    const dirs = [...this.dirMeta.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [name, meta] of dirs) {
      const path = join(this.root, name);
      await chmod(path, meta.mode);
      await utimes(path, meta.mtime, meta.mtime);
    }
  }

  /** Makes every ancestor of `name` a real directory, refusing to pass through a symlink. */
  private async ensureParents(name: string): Promise<void> {
    for (const dir of ancestorsOf(name)) {
      if (this.knownDirs.has(dir)) continue;
      const stats = await lstatOrUndefined(join(this.root, dir));
      if (stats === undefined) {
        await mkdir(join(this.root, dir), { mode: 0o755 });
        this.freshDirs.add(dir);
        this.written.add(dir);
      } else if (stats.isSymbolicLink()) {
        throw new BadLayerError(
          `layer entry "${name}" would be written through the symlink "${dir}"; refusing to leave the layer`,
          name,
        );
      } else if (!stats.isDirectory()) {
        throw new BadLayerError(
          `layer entry "${name}" needs "${dir}" to be a directory, but it is a file`,
          name,
        );
      }
      this.knownDirs.add(dir);
    }
  }

  /** Removes whatever is at `name` (a later tar entry replaces an earlier one). */
  private async clear(name: string): Promise<void> {
    if (this.freshDirs.has(parentOf(name)) && !this.written.has(name)) return; // nothing can be there
    const stats = await lstatOrUndefined(join(this.root, name));
    if (stats === undefined) return;
    await this.writes.flush(); // a directory being removed may hold files still being written
    await rm(join(this.root, name), { recursive: true, force: true });
    if (stats.isDirectory()) this.forgetDirectory(name);
  }

  private forgetDirectory(name: string): void {
    for (const set of [this.knownDirs, this.dirMeta, this.freshDirs]) {
      for (const key of set.keys()) if (key === name || key.startsWith(`${name}/`)) set.delete(key);
    }
  }

  private async makeDirectory(name: string, header: Header): Promise<void> {
    const path = join(this.root, name);
    const stats = await lstatOrUndefined(path);
    if (stats === undefined || !stats.isDirectory()) {
      await this.clear(name);
      await mkdir(path, { mode: 0o755 });
      this.freshDirs.add(name);
    }
    this.knownDirs.add(name);
    await this.chown(path, header);
    this.dirMeta.set(name, { mode: (header.mode ?? 0o755) & 0o7777, mtime: header.mtime ?? new Date(0) });
  }

  private async makeHardLink(name: string, linkname: string): Promise<void> {
    await this.writes.flush(); // the link's target may be a file still being written
    const target = normalizeEntryPath(linkname, { allowAbsolute: false });
    if (target === '') throw new BadLayerError(`hard link "${name}" has no target`, name);
    await this.ensureParents(target);
    const stats = await lstatOrUndefined(join(this.root, target));
    if (stats === undefined)
      throw new BadLayerError(
        `hard link "${name}" points at "${target}", which the layer does not contain`,
        name,
      );
    if (stats.isDirectory())
      throw new BadLayerError(`hard link "${name}" points at the directory "${target}"`, name);
    if (target === name) return;
    await this.clear(name);
    await link(join(this.root, target), join(this.root, name));
  }

  private async makeSpecial(
    name: string,
    type: 'character-device' | 'block-device' | 'fifo',
    header: Header,
  ): Promise<void> {
    if (type !== 'fifo' && !this.asRoot) {
      this.notes.push(`skipped device node "${name}": creating device nodes needs root`);
      return;
    }
    const path = join(this.root, name);
    await this.flushFor(name);
    await this.clear(name);
    const kind = type === 'fifo' ? 'p' : type === 'character-device' ? 'c' : 'b';
    await makeNode(path, kind, header.devmajor ?? 0, header.devminor ?? 0);
    await this.setMetadata(path, header, false);
  }

  private async applyWhiteout(name: string, base: string): Promise<void> {
    const dir = parentOf(name);
    if (base === OPAQUE_MARKER) {
      if (!this.asRoot)
        this.notes.push(`opaque marker for "${dir || '/'}" not recorded: trusted.* xattrs need root`);
      else if (!(await setOpaqueXattr(join(this.root, dir)))) {
        this.notes.push(
          `opaque marker for "${dir || '/'}" not recorded: neither setfattr nor python3 is installed`,
        );
      }
      return;
    }
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden.startsWith(WHITEOUT_PREFIX)) return; // aufs bookkeeping (.wh..wh.plnk and the like)
    if (hidden === '' || hidden === '.' || hidden === '..')
      throw new BadLayerError(`layer entry "${name}" is not a valid whiteout`, name);
    if (!this.asRoot) {
      this.notes.push(
        `whiteout for "${hidden}" in "${dir || '/'}" not recorded: an overlay whiteout (a 0/0 character device) needs root`,
      );
      return;
    }
    const path = dir === '' ? hidden : `${dir}/${hidden}`;
    await this.flushFor(path);
    await this.clear(path);
    await makeNode(join(this.root, path), 'c', 0, 0);
    this.written.add(path);
  }

  /** Owner (as root), then mode (chown clears setuid bits), then mtime. */
  private async setMetadata(path: string, header: Header, isSymlink: boolean): Promise<void> {
    await this.chown(path, header);
    if (!isSymlink) await chmod(path, (header.mode ?? 0o644) & 0o7777);
    const mtime = header.mtime ?? new Date(0);
    if (isSymlink) await lutimes(path, mtime, mtime);
    else await utimes(path, mtime, mtime);
  }

  private async chown(path: string, header: Header): Promise<void> {
    if (!this.asRoot) return;
    try {
      await lchown(path, header.uid ?? 0, header.gid ?? 0);
    } catch (err) {
      if (errnoCode(err) !== 'EPERM' && errnoCode(err) !== 'EINVAL') throw err;
    }
  }
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}
