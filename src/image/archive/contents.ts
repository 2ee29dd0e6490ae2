/** What an archive held, and helpers to read it: shared by `load.ts` and `assemble.ts`. */
import { open } from 'node:fs/promises';
import type { BlobInfo } from '../content-store.js';
import type { ImageStore } from '../image-store.js';
import { isGzipMagic } from '../tar-entries.js';
import { normalizeEntryPath } from '../tar-path.js';
import { BadArchiveError } from './errors.js';

export interface LoadOptions {
  /** Name for the image when the archive names none, or replaces its names (one image only). */
  tag?: string;
  /** Largest JSON document (index, manifest, config) read into memory. */
  maxMetadataBytes?: number;
  maxEntries?: number;
}

/** What the archive held, by entry name. */
export interface ArchiveContents {
  /** Regular files stored as blobs. */
  files: Map<string, BlobInfo>;
  /** Small JSON documents, kept in memory as well. */
  metadata: Map<string, Buffer>;
  /** Symlinks and hard links: name → normalized target name. */
  aliases: Map<string, string>;
}

/** Follows aliases (at most 16 hops) to the file an archive path names. */
export function resolveArchivePath(contents: ArchiveContents, path: string, what: string): BlobInfo {
  let name = normalizeEntryPath(path, { allowAbsolute: false });
  for (let hops = 0; hops < 16; hops++) {
    const file = contents.files.get(name);
    if (file) return file;
    const next = contents.aliases.get(name);
    if (next === undefined) break;
    name = next;
  }
  throw new BadArchiveError(`the archive names ${what} "${path}", which it does not contain`, path);
}

export function parseJson<T>(bytes: Buffer | undefined, what: string): T {
  if (bytes === undefined) throw new BadArchiveError(`the archive has no ${what}`);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new BadArchiveError(`the archive's ${what} is not valid JSON`, what, { cause: err });
  }
}

/** Whether a stored blob starts with the gzip magic. */
export async function blobIsGzip(store: ImageStore, digest: string): Promise<boolean> {
  const handle = await open(store.content.path(digest), 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return isGzipMagic(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
