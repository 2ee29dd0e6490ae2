/** The local OCI image store: content-addressed blobs, tags, import of root file systems, layer cache. */
export { ImageStore, type ImageSummary, type ImportOptions, type ResolvedImage } from './image-store.js';
export { ContentStore, type BlobInfo } from './content-store.js';
export { parseReference, formatReference, normalizeReference, type ParsedReference } from './reference.js';
export { packDirectory } from './pack-directory.js';
export { extractLayer, type ExtractLayerOptions, type ExtractLayerResult } from './extract-layer.js';
export { sha256Digest, isDigest } from './digest.js';
export {
  ANNOTATION_REF_NAME,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_TAR,
  MEDIA_TYPE_MANIFEST,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type LayerDescriptor,
  type OciImageConfigFile,
  type OciIndex,
  type OciManifest,
} from './oci.js';
export * from './errors.js';
export * from './client/index.js';
export { commitUpperDir, storeImage, computeChildConfigFile } from './commit.js';
export { writeDiffLayer, packDiff } from './diff.js';
export { pruneImages, InUseRegistry, type PruneResult } from './prune.js';
export * from './build/index.js';
export * from './archive/index.js';
