/**
 * COPY and ADD: pick the sources in the context (globs, `.dockerignore`), hash them for the cache
 * key, and stage them in a directory laid out like the image's root, from which the step's layer is
 * packed. ADD extracts a local tar (plain or gzip) at the destination.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  symlink,
  utimes,
} from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { extractLayer } from '../extract-layer.js';
import { isGzipFile } from '../repack-tar.js';
import { cleanPath, isIgnored, patternToRegExp, type IgnorePattern } from './dockerignore.js';
import { BuildContextError } from './errors.js';
import { resolveInContext } from './context.js';

export interface CopySource {
  /** Path relative to the context, as matched. */
  rel: string;
  /** Real path inside the context. */
  abs: string;
  stats: Stats;
}

const GLOB = /[*?[]/;

/** The sources a COPY names, globs expanded, in a stable order. */
export async function resolveSources(
  contextDir: string,
  sources: string[],
  ignore: readonly IgnorePattern[],
  step: string,
): Promise<CopySource[]> {
  const out: CopySource[] = [];
  for (const source of sources) {
    const rel = cleanPath(source);
    const rels = GLOB.test(rel) ? await globContext(contextDir, rel, ignore) : [rel];
    if (rels.length === 0)
      throw new BuildContextError(`${step}: no file in the build context matches "${source}"`);
    for (const r of rels) {
      if (r !== '' && isIgnored(r, ignore))
        throw new BuildContextError(`${step}: "${r}" is excluded by .dockerignore`);
      const abs = await resolveInContext(contextDir, r, step);
      out.push({ rel: r, abs, stats: await lstat(abs) });
    }
  }
  return out;
}

async function globContext(
  contextDir: string,
  pattern: string,
  ignore: readonly IgnorePattern[],
): Promise<string[]> {
  const regexp = patternToRegExp(pattern);
  const depth = pattern.split('/').length;
  const found: string[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    for (const name of (await readdir(join(contextDir, dir))).sort()) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (isIgnored(rel, ignore)) continue;
      if (level === depth) {
        if (regexp.test(rel)) found.push(rel);
      } else if ((await lstat(join(contextDir, rel))).isDirectory()) await walk(rel, level + 1);
    }
  };
  await walk('', 1);
  return found;
}

/** A digest of the sources' names, modes, sizes, link targets and contents (sorted, recursive). */
export async function hashSources(sources: CopySource[], ignore: readonly IgnorePattern[]): Promise<string> {
  const hash = createHash('sha256');
  for (const source of sources) await hashTree(hash, source.abs, source.rel, source.stats, ignore);
  return `sha256:${hash.digest('hex')}`;
}

async function hashTree(
  hash: ReturnType<typeof createHash>,
  abs: string,
  rel: string,
  stats: Stats,
  ignore: readonly IgnorePattern[],
): Promise<void> {
  hash.update(`${JSON.stringify([rel, stats.mode, stats.isFile() ? stats.size : 0])}\n`);
  if (stats.isSymbolicLink()) hash.update(await readlink(abs));
  else if (stats.isFile()) {
    for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  } else if (stats.isDirectory()) {
    for (const name of (await readdir(abs)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (isIgnored(childRel, ignore)) continue;
      await hashTree(hash, join(abs, name), childRel, await lstat(join(abs, name)), ignore);
    }
  }
}

export interface StageOptions {
  sources: CopySource[];
  /** Absolute path in the image, after WORKDIR and substitution; a trailing "/" means a directory. */
  dest: string;
  stagingDir: string;
  owner: { uid: number; gid: number };
  mode?: number;
  /** ADD: extract local tar archives instead of copying them. */
  extractArchives: boolean;
  ignore: readonly IgnorePattern[];
  /** Whether `dest` is a directory in the image already (then a file goes inside it). */
  destIsDir: boolean;
  step: string;
}

/** Copies the sources into the staging dir at `dest` (parent dirs are made by the caller). */
export async function stageSources(options: StageOptions): Promise<void> {
  const { sources, dest } = options;
  const intoDir =
    dest.endsWith('/') ||
    sources.length > 1 ||
    options.destIsDir ||
    sources.some((s) => s.stats.isDirectory());
  if (sources.length > 1 && !dest.endsWith('/') && !options.destIsDir)
    throw new BuildContextError(
      `${options.step}: with more than one source, the destination must end with "/"`,
    );
  const destRel = cleanPath(dest);
  for (const source of sources) {
    if (source.stats.isDirectory()) {
      await mkdir(join(options.stagingDir, destRel), { recursive: true });
      await copyTree(options, source.abs, destRel, source.rel);
    } else if (options.extractArchives && source.stats.isFile() && (await isTarArchive(source.abs))) {
      await mkdir(join(options.stagingDir, destRel), { recursive: true });
      const compression = (await isGzipFile(source.abs)) ? 'gzip' : 'none';
      await extractLayer(createReadStream(source.abs), join(options.stagingDir, destRel), {
        compression,
        asRoot: false,
      });
    } else {
      const target = intoDir ? posix.join(destRel, posix.basename(source.rel || source.abs)) : destRel;
      await mkdir(join(options.stagingDir, posix.dirname(target)), { recursive: true });
      await copyOne(options, source.abs, target, source.stats);
    }
  }
}

async function copyTree(
  options: StageOptions,
  absDir: string,
  destRel: string,
  srcRel: string,
): Promise<void> {
  for (const name of (await readdir(absDir)).sort()) {
    const childSrc = srcRel === '' ? name : `${srcRel}/${name}`;
    if (isIgnored(childSrc, options.ignore)) continue;
    const abs = join(absDir, name);
    const stats = await lstat(abs);
    const target = posix.join(destRel, name);
    await copyOne(options, abs, target, stats);
    if (stats.isDirectory()) await copyTree(options, abs, target, childSrc);
  }
  // Copying made entries in the directories: put their times back.
  for (const name of (await readdir(absDir)).sort()) {
    const stats = await lstat(join(absDir, name));
    if (stats.isDirectory() && !isIgnored(srcRel === '' ? name : `${srcRel}/${name}`, options.ignore))
      await utimes(join(options.stagingDir, destRel, name), stats.atime, stats.mtime);
  }
}

async function copyOne(options: StageOptions, abs: string, target: string, stats: Stats): Promise<void> {
  const path = join(options.stagingDir, target);
  if (stats.isDirectory()) await mkdir(path, { recursive: true });
  else if (stats.isSymbolicLink()) await symlink(await readlink(abs), path);
  else if (stats.isFile()) await copyFile(abs, path);
  else return;
  await setMeta(options, path, stats, stats.isSymbolicLink());
}

async function setMeta(options: StageOptions, path: string, stats: Stats, isLink: boolean): Promise<void> {
  await lchown(path, options.owner.uid, options.owner.gid);
  if (!isLink) await chmod(path, options.mode ?? stats.mode & 0o7777);
  if (isLink) await lutimes(path, stats.atime, stats.mtime);
  else await utimes(path, stats.atime, stats.mtime);
}

/** A tar archive, gzip-compressed or not (what ADD unpacks): "ustar" at offset 257 of the tar. */
async function isTarArchive(path: string): Promise<boolean> {
  const head = (await isGzipFile(path)) ? await gunzipHead(path, 512) : await readHead(path, 512);
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

async function readHead(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(size), 0, size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function gunzipHead(path: string, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const source = createReadStream(path);
  const gunzip = source.pipe(createGunzip());
  try {
    for await (const chunk of gunzip) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= size) break;
    }
  } catch {
    // not valid gzip: not an archive ADD unpacks
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(chunks);
}
