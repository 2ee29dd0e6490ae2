/**
 * `berth load`: reads an OCI image layout archive (what `berth save`, `skopeo copy … oci-archive:` and
 * `buildah push … oci-archive:` write) or a docker-archive (`docker save`: manifest.json with Config,
 * RepoTags and Layers paths, layers often plain tars). One pass over the tar: blobs go straight into
 * the content store — by digest, so no archive path is ever written to disk — and `blobs/sha256/<hex>`
 * entries must hash to their names. Links and symlinks inside the archive are only aliases between
 * entries, and may not point out of it. Then the images are assembled and tagged.
 */
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import { asArchiveError, isGzipFile } from '../repack-tar.js';
import { asNodeWritable, type TarEntry } from '../tar-entries.js';
import { normalizeEntryPath } from '../tar-path.js';
import { BadArchiveError } from './errors.js';
import { assembleDockerArchive, assembleOciLayout } from './assemble.js';
import type { ArchiveContents, LoadOptions } from './contents.js';

export type { ArchiveContents, LoadOptions } from './contents.js';

const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;
const METADATA_NAME = /(^|\/)[^/]*\.json$|^oci-layout$|^repositories$/;

export async function loadArchive(
  store: ImageStore,
  file: string,
  options: LoadOptions = {},
): Promise<ResolvedImage[]> {
  const contents = await readArchive(store, file, options);
  const images = contents.metadata.has('index.json')
    ? await assembleOciLayout(store, contents, options)
    : contents.metadata.has('manifest.json')
      ? await assembleDockerArchive(store, contents, options)
      : undefined;
  if (images === undefined)
    throw new BadArchiveError(
      `"${posix.basename(file)}" is neither an OCI image layout (no index.json) nor a docker-archive (no manifest.json)`,
    );
  return images;
}

/** One pass over the archive (plain or gzip): every file into the content store. */
export async function readArchive(
  store: ImageStore,
  file: string,
  options: LoadOptions,
): Promise<ArchiveContents> {
  const extract = tar.extract();
  const source = createReadStream(file);
  const feeding = (await isGzipFile(file))
    ? pipeline(source, createGunzip(), asNodeWritable(extract))
    : pipeline(source, asNodeWritable(extract));
  // Awaited below; until then a failure must not count as unhandled, and must end the entry loop.
  feeding.catch((err: unknown) => extract.destroy(err instanceof Error ? err : new Error(String(err))));
  const contents: ArchiveContents = { files: new Map(), metadata: new Map(), aliases: new Map() };
  const maxEntries = options.maxEntries ?? 100_000;
  let count = 0;
  try {
    for await (const entry of extract) {
      if (++count > maxEntries) throw new BadArchiveError(`the archive has more than ${maxEntries} entries`);
      await readEntry(store, entry, contents, options.maxMetadataBytes ?? 8 * 1024 * 1024);
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => undefined);
    throw asArchiveError(err, `"${posix.basename(file)}"`);
  }
  return contents;
}

async function readEntry(
  store: ImageStore,
  entry: TarEntry,
  contents: ArchiveContents,
  maxMetadata: number,
): Promise<void> {
  const header = entry.header;
  const type = header.type ?? 'file';
  if (type !== 'file' && type !== 'contiguous-file') entry.resume();
  const name = normalizeEntryPath(header.name, { allowAbsolute: false });
  if (type === 'directory' || name === '') return;
  if (type === 'symlink' || type === 'link') {
    contents.aliases.set(name, aliasTarget(name, header.linkname ?? '', type));
    return;
  }
  if (type !== 'file' && type !== 'contiguous-file')
    throw new BadArchiveError(
      `archive entry "${name}" is a ${type}, which an image archive never holds`,
      name,
    );
  const blob = BLOB_NAME.exec(name);
  if (METADATA_NAME.test(name) && !blob) {
    const bytes = await readSmall(entry, maxMetadata, name);
    contents.metadata.set(name, bytes);
    contents.files.set(name, await store.content.putBytes(bytes));
    return;
  }
  const digest = blob ? `sha256:${blob[1]}` : undefined;
  if (digest !== undefined && (await store.content.has(digest))) {
    entry.resume(); // already stored; ingest would not read the entry, and the archive would stall
    contents.files.set(name, { digest, size: await store.content.size(digest) });
    return;
  }
  contents.files.set(name, await store.content.ingest(entry as AsyncIterable<Uint8Array>, digest));
}

/** The entry a link points at, as a normalized archive name; never outside the archive. */
export function aliasTarget(name: string, linkname: string, type: 'symlink' | 'link'): string {
  if (linkname.startsWith('/'))
    throw new BadArchiveError(`archive entry "${name}" links to the absolute path "${linkname}"`, name);
  const joined = type === 'symlink' ? posix.join(posix.dirname(name), linkname) : linkname;
  const normalized = posix.normalize(joined);
  if (normalized === '..' || normalized.startsWith('../') || normalized === '.')
    throw new BadArchiveError(`archive entry "${name}" links to "${linkname}", outside the archive`, name);
  return normalizeEntryPath(normalized, { allowAbsolute: false });
}

async function readSmall(entry: TarEntry, max: number, name: string): Promise<Buffer> {
  if ((entry.header.size ?? 0) > max)
    throw new BadArchiveError(
      `archive entry "${name}" is larger than ${max} bytes; refusing to read it as JSON`,
      name,
    );
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
