/** The OCI image-spec documents berth reads and writes, and pure builders for them. */

export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
}

/** The runtime part ("config") of an OCI image config. */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface OciImageConfigFile {
  created?: string;
  architecture: string;
  os: string;
  config?: ImageConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

const ARCHITECTURES: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/** The OCI (GOARCH) name of a Node.js `process.arch`. */
export function ociArchitecture(nodeArch: string): string {
  return ARCHITECTURES[nodeArch] ?? nodeArch;
}

export function defaultImageConfig(): ImageConfig {
  return { Env: [DEFAULT_PATH], Cmd: ['sh'] };
}

/** The config file of a one-layer image made by `berth image import`. */
export function buildImportConfig(input: {
  diffId: string;
  created: string;
  createdBy: string;
  config?: ImageConfig;
  arch?: string;
}): OciImageConfigFile {
  return {
    created: input.created,
    architecture: ociArchitecture(input.arch ?? process.arch),
    os: 'linux',
    config: { ...defaultImageConfig(), ...input.config },
    rootfs: { type: 'layers', diff_ids: [input.diffId] },
    history: [{ created: input.created, created_by: input.createdBy }],
  };
}

export function buildManifest(config: Descriptor, layers: Descriptor[]): OciManifest {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
}

export function emptyIndex(): OciIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [] };
}

/** The index with `refName` pointing at `manifest`, replacing whatever the name pointed at before. */
export function computeTaggedIndex(index: OciIndex, refName: string, manifest: Descriptor): OciIndex {
  const others = index.manifests.filter((m) => m.annotations?.[ANNOTATION_REF_NAME] !== refName);
  const entry: Descriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    annotations: { ...manifest.annotations, [ANNOTATION_REF_NAME]: refName },
  };
  return { ...index, manifests: [...others, entry] };
}

/** How a layer's bytes are compressed, from its media type (OCI and Docker spellings). */
export function layerCompression(mediaType: string): 'gzip' | 'none' | 'zstd' | undefined {
  if (/(\+|\.)gzip$/.test(mediaType)) return 'gzip';
  if (/(\+|\.)zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType)) return 'none';
  return undefined;
}
