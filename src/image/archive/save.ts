/**
 * `berth save`: images as an OCI image layout in one tar (`oci-layout`, `index.json` with each image's
 * name in `org.opencontainers.image.ref.name`, `blobs/sha256/…`), plus Docker's `manifest.json` so
 * that `docker load` reads it too. Blobs are written once even when images share them.
 */
import type { Pack } from 'tar-stream';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import {
  ANNOTATION_REF_NAME,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_MANIFEST,
  type Descriptor,
  type OciIndex,
} from '../oci.js';
import { addEntry, addStreamEntry, packMode } from '../tar-entries.js';
import { digestHex } from '../digest.js';

/** io.containerd.image.name: containerd's (and nerdctl's) annotation for the full name. */
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

const blobPath = (digest: string): string => `blobs/sha256/${digestHex(digest) ?? ''}`;

/** The index.json and manifest.json of an archive of `images`. Pure. */
export function computeArchiveIndex(images: Array<{ image: ResolvedImage; manifestSize: number }>): {
  index: OciIndex;
  dockerManifest: DockerManifestEntry[];
} {
  const manifests: Descriptor[] = images.map(({ image, manifestSize }) => ({
    mediaType: MEDIA_TYPE_MANIFEST,
    digest: image.manifestDigest,
    size: manifestSize,
    annotations: { [ANNOTATION_REF_NAME]: image.reference, [ANNOTATION_CONTAINERD_NAME]: image.reference },
  }));
  const dockerManifest = images.map(({ image }) => ({
    Config: blobPath(image.configDigest),
    RepoTags: image.reference.includes('@') ? [] : [image.reference],
    Layers: image.layers.map((l) => blobPath(l.digest)),
  }));
  return { index: { schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests }, dockerManifest };
}

function addBytes(pack: Pack, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry({ name, mode: packMode(0o644), mtime: new Date(0), size: bytes.length }, bytes, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/** Writes the archive of `references` into `pack` and finalizes it. */
export async function saveImages(store: ImageStore, references: string[], pack: Pack): Promise<void> {
  const images = [];
  for (const reference of references) {
    const image = await store.resolve(reference);
    images.push({ image, manifestSize: await store.content.size(image.manifestDigest) });
  }
  const { index, dockerManifest } = computeArchiveIndex(images);
  await addBytes(pack, 'oci-layout', Buffer.from(`${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`));
  await addBytes(pack, 'index.json', Buffer.from(JSON.stringify(index)));
  await addBytes(pack, 'manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
  await addEntry(pack, { name: 'blobs/', type: 'directory', mode: packMode(0o755), mtime: new Date(0) });
  await addEntry(pack, {
    name: 'blobs/sha256/',
    type: 'directory',
    mode: packMode(0o755),
    mtime: new Date(0),
  });
  const written = new Set<string>();
  for (const { image } of images) {
    for (const digest of [image.manifestDigest, image.configDigest, ...image.layers.map((l) => l.digest)]) {
      if (written.has(digest)) continue;
      written.add(digest);
      const size = await store.content.size(digest);
      const header = {
        name: blobPath(digest),
        mode: packMode(0o644),
        mtime: new Date(0),
        size,
        type: 'file' as const,
      };
      await addStreamEntry(pack, header, store.content.createReadStream(digest));
    }
  }
  pack.finalize();
}
