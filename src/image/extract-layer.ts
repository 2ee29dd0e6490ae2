import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { HashingStream } from './digest.js';
import { BadLayerError } from './errors.js';
import { errnoCode, runningAsRoot } from './fs-util.js';
import { asArchiveError } from './repack-tar.js';
import { asNodeWritable, type TarEntry } from './tar-entries.js';
import { makeNode, setOpaqueXattr } from './special-files.js';
import { ancestorsOf, baseNameOf, normalizeEntryPath, parentOf } from './tar-path.js';

export interface ExtractLayerOptions {
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
  const expected = options.expectedDiffId;
  const diff = new HashingStream(
    expected,
    (actual) => new BadLayerError(`layer content hashes to ${actual}, not to its diff id ${expected ?? ''}`),
  );
  const extract = tar.extract();
  const feeding =
    options.compression === 'gzip'
      ? pipeline(source, createGunzip(), diff, asNodeWritable(extract))
      : pipeline(source, diff, asNodeWritable(extract));
  const writer = new LayerWriter(target, options.asRoot ?? runningAsRoot());
  let entries = 0;
  try {
    for await (const entry of extract) {
      await writer.apply(entry);
      entries++;
    }
    await feeding;
    await writer.finish();
  } catch (err) {
    extract.destroy();
    source.destroy();
    await feeding.catch(() => undefined);
    throw asArchiveError(err, 'the layer');
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
  private readonly dirMeta = new Map<string, DirMeta>();

  constructor(
    private readonly root: string,
    private readonly asRoot: boolean,
  ) {}

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
  }

  private async applyEntry(name: string, type: string, header: Header, body: TarEntry): Promise<void> {
    const path = join(this.root, name);
    switch (type) {
      case 'directory':
        return this.makeDirectory(name, header);
      case 'file':
      case 'contiguous-file':
        await this.clear(name);
        await pipeline(body, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
        return this.setMetadata(path, header, false);
      case 'symlink':
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

  /** Sets the deferred directory modes and mtimes, deepest first. */
  async finish(): Promise<void> {
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
      if (stats === undefined) await mkdir(join(this.root, dir), { mode: 0o755 });
      else if (stats.isSymbolicLink()) {
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
    const stats = await lstatOrUndefined(join(this.root, name));
    if (stats === undefined) return;
    await rm(join(this.root, name), { recursive: true, force: true });
    if (stats.isDirectory()) this.forgetDirectory(name);
  }

  private forgetDirectory(name: string): void {
    for (const set of [this.knownDirs, this.dirMeta]) {
      for (const key of set.keys()) if (key === name || key.startsWith(`${name}/`)) set.delete(key);
    }
  }

  private async makeDirectory(name: string, header: Header): Promise<void> {
    const path = join(this.root, name);
    const stats = await lstatOrUndefined(path);
    if (stats === undefined || !stats.isDirectory()) {
      await this.clear(name);
      await mkdir(path, { mode: 0o755 });
    }
    this.knownDirs.add(name);
    await this.chown(path, header);
    this.dirMeta.set(name, { mode: (header.mode ?? 0o755) & 0o7777, mtime: header.mtime ?? new Date(0) });
  }

  private async makeHardLink(name: string, linkname: string): Promise<void> {
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
    await this.clear(path);
    await makeNode(join(this.root, path), 'c', 0, 0);
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
