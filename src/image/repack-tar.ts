import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type Header, type Pack } from 'tar-stream';
import { BerthError } from '../core/errors.js';
import { BadLayerError } from './errors.js';
import { errnoCode } from '../core/fs.js';
import {
  addEntry,
  addStreamEntry,
  asNodeWritable,
  isGzipMagic,
  packMode,
  type TarEntry,
  type TarHeader,
} from './tar-entries.js';
import { ancestorsOf, normalizeEntryPath } from './tar-path.js';

const BODY_TYPES = new Set(['file', 'contiguous-file']);
const VOID_TYPES = new Set(['directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

/** Whether a file starts with the gzip magic bytes. */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return isGzipMagic(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/**
 * Re-packs a tar file (plain or gzip) entry by entry into `pack`, so that an imported layer is always
 * normalized: names lose a leading "/" and "./", and an entry with a ".." component, a hard link
 * out of the tree, or a path through a symlink of the same archive is refused (ERR_BAD_LAYER).
 * Does not finalize `pack`.
 */
export async function repackTar(file: string, pack: Pack): Promise<void> {
  const extract = tar.extract();
  const source = createReadStream(file);
  const feeding = (await isGzipFile(file))
    ? pipeline(source, createGunzip(), asNodeWritable(extract))
    : pipeline(source, asNodeWritable(extract));
  const symlinks = new Set<string>();
  try {
    for await (const entry of extract) await repackEntry(entry, pack, symlinks);
    await feeding;
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => undefined);
    throw asArchiveError(err, `"${file}"`);
  }
}

/** A damaged archive (bad gzip data, bad tar header, cut short) is a bad layer; other errors pass. */
export function asArchiveError(err: unknown, what: string): unknown {
  if (err instanceof BerthError || !(err instanceof Error)) return err;
  const code = errnoCode(err) ?? '';
  if (code.startsWith('Z_') || /tar header|unexpected end|premature close/i.test(err.message)) {
    return new BadLayerError(`${what} is not a valid tar archive: ${err.message}`, undefined, { cause: err });
  }
  return err;
}

async function repackEntry(entry: TarEntry, pack: Pack, symlinks: Set<string>): Promise<void> {
  const input = entry.header;
  const type = input.type ?? 'file';
  const name = normalizeEntryPath(input.name, { allowAbsolute: true });
  if (!BODY_TYPES.has(type)) entry.resume();
  if (name === '') return; // the archive's root directory: a layer has none
  refuseSymlinkParents(name, symlinks);
  const header = copyHeader(input, name);
  if (BODY_TYPES.has(type))
    return addStreamEntry(pack, { ...header, type: 'file', size: input.size ?? 0 }, entry);
  if (!VOID_TYPES.has(type))
    throw new BadLayerError(`tar entry "${name}" has an unsupported type (${type})`, name);
  if (type === 'link') {
    const target = normalizeEntryPath(input.linkname ?? '', { allowAbsolute: true });
    if (target === '') throw new BadLayerError(`hard link "${name}" has no target`, name);
    refuseSymlinkParents(target, symlinks);
    header.linkname = target;
  }
  if (type === 'symlink') symlinks.add(name);
  else symlinks.delete(name);
  await addEntry(pack, { ...header, type });
}

function copyHeader(input: Header, name: string): TarHeader {
  const header: TarHeader = {
    name: input.type === 'directory' ? `${name}/` : name,
    mode: packMode(input.mode),
    uid: input.uid ?? 0,
    gid: input.gid ?? 0,
    mtime: input.mtime ?? new Date(0),
  };
  if (input.linkname) header.linkname = input.linkname;
  if (input.uname) header.uname = input.uname;
  if (input.gname) header.gname = input.gname;
  if (input.devmajor !== undefined) header.devmajor = input.devmajor;
  if (input.devminor !== undefined) header.devminor = input.devminor;
  return header;
}

function refuseSymlinkParents(name: string, symlinks: Set<string>): void {
  for (const ancestor of ancestorsOf(name)) {
    if (symlinks.has(ancestor)) {
      throw new BadLayerError(
        `tar entry "${name}" lies under "${ancestor}", which is a symlink: it could write outside the image`,
        name,
      );
    }
  }
}
