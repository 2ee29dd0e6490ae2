/**
 * Manifests as they come from a registry: OCI image manifests and indexes, and Docker's schema 2
 * manifests and manifest lists (same shapes, other media types). Pure: parse, check, pick a platform.
 */
import { isDigest } from '../digest.js';
import { MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, type Descriptor, type OciManifest } from '../oci.js';

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** What a pull asks for, in order of preference. */
export const MANIFEST_ACCEPT = [MEDIA_TYPE_MANIFEST, MEDIA_TYPE_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

/** The largest manifest berth reads (Distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface IndexDescriptor extends Descriptor {
  platform?: Platform;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: IndexDescriptor[] }
  | { kind: 'manifest'; mediaType: string; manifest: OciManifest };

/**
 * Parses manifest bytes. The media type is the document's own `mediaType`, else the Content-Type the
 * registry sent. Returns a reason (a string) instead of throwing when the document cannot be used.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest | string {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'it is not JSON';
  }
  if (typeof doc !== 'object' || doc === null) return 'it is not a JSON object';
  const d = doc as Record<string, unknown>;
  if (d.schemaVersion !== 2) return `schema version ${String(d.schemaVersion)} is not supported (only 2)`;
  const mediaType = typeof d.mediaType === 'string' ? d.mediaType : mediaTypeOf(contentType, d);
  if (mediaType === MEDIA_TYPE_INDEX || mediaType === DOCKER_MANIFEST_LIST) {
    if (!Array.isArray(d.manifests) || !d.manifests.every(isDescriptor))
      return 'its manifest list is malformed';
    return { kind: 'index', mediaType, manifests: d.manifests as IndexDescriptor[] };
  }
  if (mediaType !== MEDIA_TYPE_MANIFEST && mediaType !== DOCKER_MANIFEST)
    return `media type ${mediaType || '(none)'} is not supported`;
  if (!isDescriptor(d.config)) return 'its config descriptor is malformed';
  if (!Array.isArray(d.layers) || !d.layers.every(isDescriptor)) return 'its layer list is malformed';
  return { kind: 'manifest', mediaType, manifest: d as unknown as OciManifest };
}

function mediaTypeOf(contentType: string | undefined, doc: Record<string, unknown>): string {
  const type = contentType?.split(';')[0]?.trim() ?? '';
  if (type && type !== 'application/json') return type;
  // An OCI document may leave out mediaType; its shape tells which it is.
  if (Array.isArray(doc.manifests)) return MEDIA_TYPE_INDEX;
  return doc.config !== undefined ? MEDIA_TYPE_MANIFEST : type;
}

function isDescriptor(value: unknown): value is Descriptor {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d.mediaType === 'string' &&
    typeof d.digest === 'string' &&
    isDigest(d.digest) &&
    typeof d.size === 'number' &&
    Number.isSafeInteger(d.size) &&
    d.size >= 0
  );
}

/**
 * The index entry for a platform: same os and architecture, and the same variant when one is wanted
 * (an entry without a variant is taken when none matches exactly).
 */
export function selectPlatform(
  manifests: readonly IndexDescriptor[],
  wanted: Platform,
): IndexDescriptor | undefined {
  const candidates = manifests.filter(
    (m) => m.platform?.os === wanted.os && m.platform.architecture === wanted.architecture,
  );
  if (wanted.variant === undefined) return candidates[0];
  return (
    candidates.find((m) => m.platform?.variant === wanted.variant) ??
    candidates.find((m) => !m.platform?.variant)
  );
}

/** The platforms an index offers, for an error message: "linux/amd64, linux/arm64/v8". */
export function describePlatforms(manifests: readonly IndexDescriptor[]): string {
  const names = manifests
    .map((m) => m.platform)
    .filter((p): p is Platform => p !== undefined)
    .map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/'));
  return names.length > 0 ? names.join(', ') : 'none';
}

/** The blobs of an image manifest (config first, then the layers), each digest once. */
export function blobsOf(manifest: OciManifest): Descriptor[] {
  const seen = new Set<string>();
  return [manifest.config, ...manifest.layers].filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}
