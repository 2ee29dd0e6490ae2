/**
 * The build context: packed by the CLI (honoring `.dockerignore`), unpacked by the server into a
 * private directory, and read by COPY/ADD, which never follow a path out of it.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import tar, { type Pack } from 'tar-stream';
import { errnoCode } from '../../core/fs.js';
import { addEntry, addStreamEntry, packMode, type TarHeader } from '../tar-entries.js';
import { isIgnored, mayReinclude, parseDockerignore, type IgnorePattern } from './dockerignore.js';
import { BuildContextError } from './errors.js';

export async function readDockerignore(contextDir: string): Promise<IgnorePattern[]> {
  try {
    return parseDockerignore(await readFile(join(contextDir, '.dockerignore'), 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Packs the context dir into `pack`, leaving out what `.dockerignore` excludes, then adds the
 * Dockerfile text as `dockerfileName` (which replaces a file of that name). Finalizes `pack`.
 */
export async function packContext(
  contextDir: string,
  dockerfileName: string,
  dockerfile: string,
  pack: Pack,
): Promise<number> {
  const patterns = await readDockerignore(contextDir);
  const state = { root: contextDir, pack, patterns, skip: dockerfileName, count: 0 };
  await packContextDir(state, '');
  await new Promise<void>((resolve, reject) =>
    pack.entry({ name: dockerfileName, mode: 0o644, mtime: new Date(0) }, dockerfile, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  pack.finalize();
  return state.count;
}

interface PackState {
  root: string;
  pack: Pack;
  patterns: IgnorePattern[];
  skip: string;
  count: number;
}

async function packContextDir(state: PackState, dir: string): Promise<void> {
  for (const name of (await readdir(join(state.root, dir))).sort()) {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (path === state.skip) continue;
    const stats = await lstat(join(state.root, path));
    const ignored = isIgnored(path, state.patterns);
    if (ignored && !(stats.isDirectory() && mayReinclude(path, state.patterns))) continue;
    const header: TarHeader = { name: path, mode: packMode(stats.mode), mtime: stats.mtime };
    if (stats.isDirectory()) {
      if (!ignored) await addEntry(state.pack, { ...header, name: `${path}/`, type: 'directory' });
      await packContextDir(state, path);
    } else if (stats.isFile()) {
      const body = createReadStream(join(state.root, path));
      await addStreamEntry(state.pack, { ...header, type: 'file', size: stats.size }, body);
    } else if (stats.isSymbolicLink()) {
      await addEntry(state.pack, {
        ...header,
        type: 'symlink',
        linkname: await readlink(join(state.root, path)),
      });
    } else continue; // devices, fifos and sockets have no place in a context
    state.count++;
  }
}

/** A fresh tar pack of a context, for the CLI's upload. */
export function contextTar(contextDir: string, dockerfileName: string, dockerfile: string): Pack {
  const pack = tar.pack();
  packContext(contextDir, dockerfileName, dockerfile, pack).catch((err: unknown) =>
    pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return pack;
}

/**
 * The real path of `rel` inside the context, refusing anything (a symlink, a "..") that leads out of
 * it. Missing paths are ERR_BAD_BUILD_CONTEXT.
 */
export async function resolveInContext(contextDir: string, rel: string, step: string): Promise<string> {
  const root = await realpath(contextDir);
  let real: string;
  try {
    real = await realpath(join(root, rel));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR')
      throw new BuildContextError(
        `${step}: "${rel}" is not in the build context (or .dockerignore excludes it)`,
      );
    throw err;
  }
  const inside = relative(root, real);
  if (inside.startsWith('..') || inside.startsWith(sep))
    throw new BuildContextError(`${step}: "${rel}" leads out of the build context`);
  return real;
}
