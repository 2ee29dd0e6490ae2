/**
 * Push: each blob (config and layers, concurrently) is checked with HEAD and sent only when the
 * repository lacks it: by a cross-repo mount when another repository of the same registry is known to
 * hold it, else by upload. Then the manifest's stored bytes are PUT under the tag.
 */
import type { ImageStore } from '../image-store.js';
import { MEDIA_TYPE_MANIFEST, type Descriptor } from '../oci.js';
import type { BlobSources } from './blob-sources.js';
import {
  blobExists,
  DEFAULT_CHUNKS,
  startUpload,
  tryMount,
  uploadBlob,
  type ChunkPolicy,
} from './blob-upload.js';
import { DigestMismatchError, ManifestInvalidError } from './errors.js';
import { blobsOf, parseManifest } from './manifest.js';
import { mapLimit, type ProgressListener, type TransferProgress } from './progress.js';
import { headerOf, type RegistryClient } from './registry-client.js';
import { manifestReference, type RegistryReference } from './registry-reference.js';

export interface PushOptions {
  concurrency?: number;
  onProgress?: ProgressListener;
  sources?: BlobSources;
  chunks?: ChunkPolicy;
}

export interface PushResult {
  reference: string;
  digest: string;
  /** How each blob got there. */
  blobs: { digest: string; action: 'exists' | 'mounted' | 'uploaded' }[];
}

/** Makes a client for the token scopes the push needs (its own repository, and any it mounts from). */
export type ConnectRegistry = (scopes: string[]) => RegistryClient;

export async function pushImage(
  images: ImageStore,
  connect: ConnectRegistry,
  ref: RegistryReference,
  options: PushOptions = {},
): Promise<PushResult> {
  const image = await images.resolve(ref.local);
  const bytes = await images.content.read(image.manifestDigest);
  const parsed = parseManifest(bytes, undefined);
  if (typeof parsed === 'string' || parsed.kind !== 'manifest')
    throw new ManifestInvalidError(ref.local, typeof parsed === 'string' ? parsed : 'it is an index');
  const blobs = blobsOf(parsed.manifest);
  const mounts = await mountPlan(blobs, ref, options.sources);
  const scopes = [
    `repository:${ref.name}:pull,push`,
    ...new Set([...mounts.values()].map((from) => `repository:${from}:pull`)),
  ];
  const client = connect(scopes);
  const report = options.onProgress ?? (() => undefined);
  const results = await mapLimit(blobs, options.concurrency ?? 4, async (blob) => ({
    digest: blob.digest,
    action: await pushBlob(images, client, ref, blob, {
      kind: blob === parsed.manifest.config ? 'config' : 'layer',
      from: mounts.get(blob.digest),
      chunks: options.chunks ?? DEFAULT_CHUNKS,
      report,
    }),
  }));
  const res = await client.expect(
    'PUT',
    `/v2/${ref.name}/manifests/${manifestReference(ref)}`,
    [201],
    `PUT manifest ${ref.local}`,
    {
      headers: { 'content-type': parsed.manifest.mediaType ?? MEDIA_TYPE_MANIFEST },
      body: () => bytes,
    },
  );
  await res.body.dump();
  const announced = headerOf(res, 'docker-content-digest');
  if (announced?.startsWith('sha256:') && announced !== image.manifestDigest)
    throw new DigestMismatchError(image.manifestDigest, announced, `${ref.host}/${ref.name}`);
  await options.sources?.record(
    blobs.map((b) => b.digest),
    ref.host,
    ref.name,
  );
  return { reference: ref.local, digest: image.manifestDigest, blobs: results };
}

/** For each blob, another repository of the registry that is known to hold it. */
async function mountPlan(
  blobs: readonly Descriptor[],
  ref: RegistryReference,
  sources: BlobSources | undefined,
): Promise<Map<string, string>> {
  const plan = new Map<string, string>();
  if (sources === undefined) return plan;
  for (const blob of blobs) {
    const from = await sources.mountSource(blob.digest, ref.host, ref.name);
    if (from !== undefined) plan.set(blob.digest, from);
  }
  return plan;
}

async function pushBlob(
  images: ImageStore,
  client: RegistryClient,
  ref: RegistryReference,
  blob: Descriptor,
  options: {
    kind: 'config' | 'layer';
    from: string | undefined;
    chunks: ChunkPolicy;
    report: ProgressListener;
  },
): Promise<'exists' | 'mounted' | 'uploaded'> {
  const progress = (action: TransferProgress['action'], current: number, from?: string): void =>
    options.report({
      digest: blob.digest,
      kind: options.kind,
      action,
      current,
      total: blob.size,
      ...(from ? { from } : {}),
    });
  if (await blobExists(client, ref.name, blob.digest)) {
    progress('exists', blob.size);
    return 'exists';
  }
  let location: string | undefined;
  if (options.from !== undefined) {
    const mounted = await tryMount(client, ref.name, blob.digest, options.from);
    if (mounted === 'mounted') {
      progress('mounted', blob.size, options.from);
      return 'mounted';
    }
    location = mounted?.location;
  }
  location ??= await startUpload(client, ref.name);
  progress('pushing', 0);
  await uploadBlob(client, images.content, location, blob, {
    chunks: options.chunks,
    onBytes: (n) => progress('pushing', n),
  });
  progress('done', blob.size);
  return 'uploaded';
}
