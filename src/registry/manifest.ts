/**
 * Pure parsing and checking of pushed manifests: the four accepted media types, the descriptors a
 * manifest references, its `subject`, and the CVE-2021-41190 guard (a body must not be readable as both
 * a manifest and an index).
 */
import { ManifestInvalidError } from './errors.js';
import { checkDigest } from './names.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

const KIND_BY_TYPE: Readonly<Record<string, 'manifest' | 'index'>> = {
  [OCI_MANIFEST]: 'manifest',
  [DOCKER_MANIFEST]: 'manifest',
  [OCI_INDEX]: 'index',
  [DOCKER_MANIFEST_LIST]: 'index',
};

/** Layers that live elsewhere (`urls`): a registry need not hold them. */
const FOREIGN_LAYER = /(\.foreign\.|\.nondistributable\.)/;

export interface DescriptorRef {
  mediaType: string;
  digest: string;
  size: number;
}

export interface ParsedManifest {
  kind: 'manifest' | 'index';
  mediaType: string;
  /** Blobs the repository must hold (config and layers of a manifest). */
  blobs: DescriptorRef[];
  /** Manifests the repository must hold (children of an index). */
  manifests: DescriptorRef[];
  subject?: string;
  /** What the referrers API reports: `artifactType`, else a manifest's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** `type/subtype` of a Content-Type header, parameters dropped (the spec says to ignore them). */
export function bareMediaType(contentType: string | undefined): string | undefined {
  const bare = contentType?.split(';')[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}

export function isManifestMediaType(mediaType: string): boolean {
  return KIND_BY_TYPE[mediaType] !== undefined;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Uint8Array): Json {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ManifestInvalidError(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new ManifestInvalidError('manifest must be a JSON object');
  return value;
}

function descriptor(value: unknown, where: string): DescriptorRef & { urls?: unknown } {
  if (!isObject(value)) throw new ManifestInvalidError(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || typeof digest !== 'string' || typeof size !== 'number')
    throw new ManifestInvalidError(`${where} needs mediaType, digest and size`);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new ManifestInvalidError(`${where} has an invalid size ${size}`);
  try {
    checkDigest(digest);
  } catch (err) {
    throw new ManifestInvalidError(`${where} has an unusable digest "${digest}"`, { cause: err });
  }
  return { mediaType, digest, size, urls: value.urls };
}

function descriptors(value: unknown, where: string): Array<DescriptorRef & { urls?: unknown }> {
  if (!Array.isArray(value)) throw new ManifestInvalidError(`${where} must be an array`);
  return value.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/**
 * The media type of a pushed manifest: the Content-Type and the body's `mediaType` must agree when both
 * are given; one of them must name a supported type.
 */
export function computeManifestMediaType(contentType: string | undefined, body: Json): string {
  const header = bareMediaType(contentType);
  const declared = body.mediaType;
  if (declared !== undefined && typeof declared !== 'string')
    throw new ManifestInvalidError('manifest mediaType must be a string');
  const headerIsManifest = header !== undefined && isManifestMediaType(header);
  if (declared !== undefined && headerIsManifest && declared !== header)
    throw new ManifestInvalidError(
      `manifest mediaType "${declared}" contradicts the Content-Type "${header}"`,
    );
  const mediaType = declared ?? (headerIsManifest ? header : undefined);
  if (mediaType === undefined || !isManifestMediaType(mediaType))
    throw new ManifestInvalidError(
      `unsupported manifest media type "${mediaType ?? header ?? ''}": use an OCI or Docker schema 2 manifest or index`,
    );
  return mediaType;
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string'))
    throw new ManifestInvalidError(`${where} must map strings to strings`);
  return value as Record<string, string>;
}

/** Parses and checks a pushed manifest; throws MANIFEST_INVALID for anything a client must fix. */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  const body = parseJson(bytes);
  if (body.schemaVersion !== 2) throw new ManifestInvalidError('manifest schemaVersion must be 2');
  const mediaType = computeManifestMediaType(contentType, body);
  const kind = KIND_BY_TYPE[mediaType]!;
  // CVE-2021-41190: a document that is both (or could be read as the other) is refused.
  if (kind === 'manifest' && 'manifests' in body)
    throw new ManifestInvalidError('an image manifest must not have a "manifests" field');
  if (kind === 'index' && ('layers' in body || 'config' in body))
    throw new ManifestInvalidError('an image index must not have "layers" or "config" fields');
  const subject = body.subject === undefined ? undefined : descriptor(body.subject, 'subject').digest;
  const annotations = stringMap(body.annotations, 'annotations');
  if (body.artifactType !== undefined && typeof body.artifactType !== 'string')
    throw new ManifestInvalidError('artifactType must be a string');
  const base = {
    mediaType,
    ...(subject !== undefined ? { subject } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
  if (kind === 'index') {
    const children = descriptors(body.manifests, 'manifests');
    return {
      ...base,
      kind,
      blobs: [],
      manifests: children.map(stripUrls),
      ...(body.artifactType !== undefined ? { artifactType: body.artifactType } : {}),
    };
  }
  const config = descriptor(body.config, 'config');
  const layers = descriptors(body.layers, 'layers');
  const local = layers.filter((l) => !(l.urls !== undefined && FOREIGN_LAYER.test(l.mediaType)));
  return {
    ...base,
    kind,
    blobs: [config, ...local].map(stripUrls),
    manifests: [],
    artifactType: body.artifactType ?? config.mediaType,
  };
}

function stripUrls(d: DescriptorRef): DescriptorRef {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}
