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
    await packEntry(state, path, stats);
    if (stats.isDirectory()) await packTree(state, path);
  }
}

async function packEntry(state: PackState, path: string, stats: Stats): Promise<void> {
  const header: TarHeader = {
    name: path,
    mode: packMode(stats.mode),
    uid: stats.uid,
    gid: stats.gid,
    mtime: stats.mtime,
  };
  if (stats.isDirectory()) return addEntry(state.pack, { ...header, name: `${path}/`, type: 'directory' });
  if (stats.nlink > 1) {
    const key = `${stats.dev}:${stats.ino}`;
    const first = state.links.get(key);
    if (first !== undefined) return addEntry(state.pack, { ...header, type: 'link', linkname: first });
    state.links.set(key, path);
  }
  if (stats.isFile()) {
    const body = createReadStream(join(state.root, path));
    return addStreamEntry(state.pack, { ...header, type: 'file', size: stats.size }, body);
  }
  if (stats.isSymbolicLink()) {
    const linkname = await readlink(join(state.root, path));
    return addEntry(state.pack, { ...header, type: 'symlink', linkname });
  }
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    const { major, minor } = splitDeviceNumber(stats.rdev);
    const type = stats.isCharacterDevice() ? 'character-device' : 'block-device';
    return addEntry(state.pack, { ...header, type, devmajor: major, devminor: minor });
  }
  if (stats.isFIFO()) return addEntry(state.pack, { ...header, type: 'fifo' });
  state.skipped.push(path); // a socket: it cannot be packed, and is recreated by whoever listens
}
