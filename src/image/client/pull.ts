/**
 * Pull: the manifest (an index is resolved to this machine's linux platform), then config and layers
 * concurrently, straight into the content store, each verified by digest while it streams. Blobs
 * already in the store are not fetched. The manifest's bytes are stored as they came, and the image is
 * tagged locally under its full reference ("127.0.0.1:5000/team/app:1") only once everything is there.
 */
import { BlobCorruptError } from '../errors.js';
import { isDigest, sha256Digest } from '../digest.js';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import {
  layerCompression,
  ociArchitecture,
  type Descriptor,
  type OciImageConfigFile,
  type OciManifest,
} from '../oci.js';
import type { BlobSources } from './blob-sources.js';
import { DigestMismatchError, ManifestInvalidError, ManifestUnknownError } from './errors.js';
import {
  blobsOf,
  describePlatforms,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  parseManifest,
  selectPlatform,
  type Platform,
} from './manifest.js';
import { countBytes, mapLimit, type ProgressListener, type TransferProgress } from './progress.js';
import { headerOf, type RegistryClient } from './registry-client.js';
import { manifestReference, type RegistryReference } from './registry-reference.js';

export interface PullOptions {
  /** Blobs fetched at once (default 4). */
  concurrency?: number;
  onProgress?: ProgressListener;
  /** Default: linux and this machine's architecture. */
  platform?: Platform;
  /** Where to record that the blobs live in this repository (for later cross-repo mounts). */
  sources?: BlobSources;
}

export interface PullResult {
  /** The local name the image was tagged as. */
  reference: string;
  /** The digest of the image manifest (for a multi-platform image: of the platform's manifest). */
  digest: string;
  image: ResolvedImage;
}

interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  contentType: string | undefined;
}

export async function pullImage(
  images: ImageStore,
  client: RegistryClient,
  ref: RegistryReference,
  options: PullOptions = {},
): Promise<PullResult> {
  const platform = options.platform ?? { os: 'linux', architecture: ociArchitecture(process.arch) };
  const { fetched, mediaType, manifest } = await fetchImageManifest(images, client, ref, platform);
  const report = options.onProgress ?? (() => undefined);
  const source = `${ref.host}/${ref.name}`;
  const blobs = blobsOf(manifest);
  await mapLimit(blobs, options.concurrency ?? 4, (d) =>
    fetchBlob(images, client, ref, d, d === manifest.config ? 'config' : 'layer', report),
  );
  await checkConfig(images, ref, manifest);
  await images.content.putBytes(fetched.bytes, fetched.digest);
  const descriptor = { mediaType, digest: fetched.digest, size: fetched.bytes.length };
  // A tag names the platform's manifest; a pull by digest alone is named "repo@<that manifest's digest>".
  const image =
    ref.tag !== undefined
      ? await images.tagManifest(descriptor, [`${source}:${ref.tag}`])
      : await images.nameManifestByDigest(descriptor, source);
  await options.sources?.record(
    blobs.map((b) => b.digest),
    ref.host,
    ref.name,
  );
  return { reference: image.reference, digest: fetched.digest, image };
}

/** The image manifest for the platform, following an index (whose bytes are stored too). */
async function fetchImageManifest(
  images: ImageStore,
  client: RegistryClient,
  ref: RegistryReference,
  platform: Platform,
): Promise<{ fetched: FetchedManifest; mediaType: string; manifest: OciManifest }> {
  let fetched = await fetchManifest(client, ref, manifestReference(ref));
  let parsed = parseManifest(fetched.bytes, fetched.contentType);
  if (typeof parsed === 'string') throw new ManifestInvalidError(ref.local, parsed);
  if (parsed.kind === 'index') {
    const entry = selectPlatform(parsed.manifests, platform);
    if (entry === undefined)
      throw new ManifestInvalidError(
        ref.local,
        `it has no image for ${platform.os}/${platform.architecture} (it has: ${describePlatforms(parsed.manifests)})`,
      );
    await images.content.putBytes(fetched.bytes, fetched.digest);
    fetched = await fetchManifest(client, ref, entry.digest);
    parsed = parseManifest(fetched.bytes, fetched.contentType ?? entry.mediaType);
    if (typeof parsed === 'string') throw new ManifestInvalidError(ref.local, parsed);
    if (parsed.kind === 'index')
      throw new ManifestInvalidError(ref.local, 'its index points at another index');
  }
  for (const layer of parsed.manifest.layers) {
    const compression = layerCompression(layer.mediaType);
    if (compression !== 'gzip' && compression !== 'none')
      throw new ManifestInvalidError(
        ref.local,
        `layer ${layer.digest} has media type ${layer.mediaType}, which berth cannot unpack (gzip or plain tar only)`,
      );
  }
  return { fetched, mediaType: parsed.mediaType, manifest: parsed.manifest };
}

/** GET a manifest by tag or digest; its bytes must hash to the digest asked for and to Docker-Content-Digest. */
async function fetchManifest(
  client: RegistryClient,
  ref: RegistryReference,
  reference: string,
): Promise<FetchedManifest> {
  const source = `${ref.host}/${ref.name}`;
  const display = isDigest(reference) ? `${source}@${reference}` : `${source}:${reference}`;
  const res = await client.send('GET', `/v2/${ref.name}/manifests/${reference}`, {
    headers: { accept: MANIFEST_ACCEPT.join(', ') },
  });
  if (res.statusCode === 404) {
    await res.body.dump();
    throw new ManifestUnknownError(display);
  }
  if (res.statusCode !== 200) throw await client.failure(res, `GET manifest ${display}`);
  const chunks: Buffer[] = [];
  const body = countBytes(res.body, {
    limit: MAX_MANIFEST_BYTES,
    onBytes: () => undefined,
    onOverflow: () => new ManifestInvalidError(display, `it is larger than ${MAX_MANIFEST_BYTES} bytes`),
  });
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  const bytes = Buffer.concat(chunks);
  const digest = sha256Digest(bytes);
  if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(reference, digest, source);
  const announced = headerOf(res, 'docker-content-digest');
  if (announced?.startsWith('sha256:') && announced !== digest)
    throw new DigestMismatchError(announced, digest, source);
  return { bytes, digest, contentType: headerOf(res, 'content-type') };
}

async function fetchBlob(
  images: ImageStore,
  client: RegistryClient,
  ref: RegistryReference,
  d: Descriptor,
  kind: 'config' | 'layer',
  report: ProgressListener,
): Promise<void> {
  const progress = (action: TransferProgress['action'], current: number): void =>
    report({ digest: d.digest, kind, action, current, total: d.size });
  if (await images.content.has(d.digest)) return progress('exists', d.size);
  progress('pulling', 0);
  const source = `${ref.host}/${ref.name}`;
  const res = await client.expect('GET', `/v2/${ref.name}/blobs/${d.digest}`, [200], `GET blob ${d.digest}`, {
    followRedirects: true,
  });
  const body = countBytes(res.body, {
    limit: d.size,
    onBytes: (n) => progress('pulling', n),
    onOverflow: () =>
      new DigestMismatchError(d.digest, `more than the ${d.size} bytes the manifest says`, source),
  });
  try {
    const info = await images.content.ingest(body, d.digest);
    if (info.size !== d.size)
      throw new ManifestInvalidError(
        ref.local,
        `blob ${d.digest} is ${info.size} bytes, the manifest says ${d.size}`,
      );
  } catch (err) {
    if (err instanceof BlobCorruptError) throw new DigestMismatchError(d.digest, err.actual, source);
    throw err;
  } finally {
    res.body.destroy(); // a no-op when the store read it all; frees the connection when it did not
  }
  progress('done', d.size);
}

/** The config must be an image config whose diff ids match the layers, before the image is tagged. */
async function checkConfig(images: ImageStore, ref: RegistryReference, manifest: OciManifest): Promise<void> {
  let config: OciImageConfigFile;
  try {
    config = await images.content.readJSON<OciImageConfigFile>(manifest.config.digest);
  } catch (err) {
    if (err instanceof SyntaxError) throw new ManifestInvalidError(ref.local, 'its config is not JSON');
    throw err;
  }
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length)
    throw new ManifestInvalidError(
      ref.local,
      `its config lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} diff ids for ${manifest.layers.length} layers`,
    );
}
