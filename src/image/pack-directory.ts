import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pack } from 'tar-stream';
import { addEntry, addStreamEntry, packMode, type TarHeader } from './tar-entries.js';
import { splitDeviceNumber } from './tar-path.js';

interface PackState {
  root: string;
  pack: Pack;
  /** "dev:ino" of files with more than one link → the name they were first packed under. */
  links: Map<string, string>;
  /** Entries left out (sockets), for the caller's log. */
  skipped: string[];
}

/**
 * Packs the tree under `root` into `pack`: names sorted (reproducible layers), symlinks not followed,
 * hard links kept as links, mode/uid/gid/mtime preserved, sockets skipped. Does not finalize `pack`.
 * Returns the names of the entries it skipped.
 */
export async function packDirectory(root: string, pack: Pack): Promise<string[]> {
  const state: PackState = { root, pack, links: new Map(), skipped: [] };
  await packTree(state, '');
  return state.skipped;
}

async function packTree(state: PackState, dir: string): Promise<void> {
  const names = (await readdir(join(state.root, dir))).sort();
  for (const name of names) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const stats = await lstat(join(state.root, path));
    if (!(await packEntry(state, path, stats))) state.skipped.push(path);
    if (stats.isDirectory()) await packTree(state, path);
  }
}

/** What packing one entry needs: the tree, the tar, and the hard links seen so far ("dev:ino" → name). */
export interface EntrySource {
  root: string;
  pack: Pack;
  links: Map<string, string>;
}

/**
 * Adds the file-system object at `path` (relative to the root) to the tar: directories, files (streamed),
 * symlinks (not followed), hard links to a name packed before, devices and fifos, with mode, owner and
 * mtime. Returns false for a socket, which cannot be packed and is recreated by whoever listens.
 */
export async function packEntry(src: EntrySource, path: string, stats: Stats): Promise<boolean> {
  const header: TarHeader = {
    name: path,
    mode: packMode(stats.mode),
    uid: stats.uid,
    gid: stats.gid,
    mtime: stats.mtime,
  };
  if (stats.isDirectory())
    return added(addEntry(src.pack, { ...header, name: `${path}/`, type: 'directory' }));
  if (stats.nlink > 1) {
    const key = `${stats.dev}:${stats.ino}`;
    const first = src.links.get(key);
    if (first !== undefined) return added(addEntry(src.pack, { ...header, type: 'link', linkname: first }));
    src.links.set(key, path);
  }
  if (stats.isFile()) {
    const body = createReadStream(join(src.root, path), { highWaterMark: 1 << 20 });
    return added(addStreamEntry(src.pack, { ...header, type: 'file', size: stats.size }, body));
  }
  if (stats.isSymbolicLink()) {
    const linkname = await readlink(join(src.root, path));
    return added(addEntry(src.pack, { ...header, type: 'symlink', linkname }));
  }
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    const { major, minor } = splitDeviceNumber(stats.rdev);
    const type = stats.isCharacterDevice() ? 'character-device' : 'block-device';
    return added(addEntry(src.pack, { ...header, type, devmajor: major, devminor: minor }));
  }
  if (stats.isFIFO()) return added(addEntry(src.pack, { ...header, type: 'fifo' }));
  return false;
}

const added = async (write: Promise<void>): Promise<boolean> => {
  await write;
  return true;
};
