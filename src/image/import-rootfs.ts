import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar, { type Pack } from 'tar-stream';
import type { ContentStore } from './content-store.js';
import { HashingStream } from './digest.js';
import { BadLayerError, ImportSourceNotFoundError } from './errors.js';
import { errnoCode } from '../core/fs.js';
import { MEDIA_TYPE_LAYER_GZIP, type LayerDescriptor } from './oci.js';
import { packDirectory } from './pack-directory.js';
import { repackTar } from './repack-tar.js';

export type ImportSourceKind = 'directory' | 'tar';

/** Whether `source` is a directory or a (tar) file; ERR_IMPORT_SOURCE_NOT_FOUND when it is missing. */
export async function importSourceKind(source: string): Promise<ImportSourceKind> {
  let stats;
  try {
    stats = await stat(source); // follows a symlink given as the source itself
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR')
      throw new ImportSourceNotFoundError(source, { cause: err });
    throw err;
  }
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'tar';
  throw new BadLayerError(`import source "${source}" is neither a directory nor a tar file`);
}

/** A tar stream of the source, normalized the same way whatever its kind. */
function sourceTar(source: string, kind: ImportSourceKind): Pack {
  const pack = tar.pack();
  const fill =
    kind === 'directory' ? packDirectory(source, pack).then(() => undefined) : repackTar(source, pack);
  fill.then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return pack;
}

/**
 * Packs the source into one gzip layer in the content store, hashing the uncompressed tar (the diff
 * id) and the compressed blob (the digest) in the same pass.
 */
export async function writeSourceLayer(
  content: ContentStore,
  source: string,
  kind: ImportSourceKind,
): Promise<LayerDescriptor> {
  const diff = new HashingStream();
  const gzip = createGzip();
  const pack = sourceTar(source, kind);
  // Wait for both sides, so that a failed import has cleaned up its ingest file when it rejects.
  const [packed, ingested] = await Promise.allSettled([
    pipeline(Readable.from(pack), diff, gzip),
    content.ingest(gzip),
  ]);
  if (packed.status === 'rejected') throw packed.reason;
  if (ingested.status === 'rejected') throw ingested.reason;
  const blob = ingested.value;
  return { mediaType: MEDIA_TYPE_LAYER_GZIP, digest: blob.digest, size: blob.size, diffId: diff.digest() };
}
