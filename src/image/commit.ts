/**
 * `berth commit`: a task's writable layer (its overlay upper dir) becomes a new layer on top of the
 * task's image, with a history entry. Also the shared step of a build: storing an image made of a
 * parent, new layers and a new config.
 */
import { BerthError } from '../core/errors.js';
import type { ContentStore } from './content-store.js';
import { writeDiffLayer } from './diff.js';
import type { ImageStore, ResolvedImage } from './image-store.js';
import {
  buildManifest,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_MANIFEST,
  ociArchitecture,
  type HistoryEntry,
  type ImageConfig,
  type LayerDescriptor,
  type OciImageConfigFile,
} from './oci.js';

export interface CommitOptions {
  upperDir: string;
  /** The task's image; undefined for a task without one is refused by the caller. */
  parent: ResolvedImage;
  /** "repo[:tag]" for the new image. */
  reference: string;
  message?: string;
  author?: string;
  /** What made the layer, for `berth history` (default: "berth commit"). */
  createdBy?: string;
  /** Replaces the parent's runtime config (a build's CMD, ENV …); default: the parent's. */
  config?: ImageConfig;
  now?: Date;
}

/** One step on top of an image: its layer (if it made one) and its history entry. */
export interface ImageStep {
  layer?: LayerDescriptor;
  history: HistoryEntry;
}

/**
 * The config file of a child image: the parent's diff ids and history with the steps' appended, the
 * given runtime config, and `created` set. Pure.
 */
export function computeChildConfigFile(
  parent: OciImageConfigFile | undefined,
  steps: ImageStep[],
  config: ImageConfig,
  created: string,
): OciImageConfigFile {
  const diffIds = [...(parent?.rootfs.diff_ids ?? [])];
  const history = [...(parent?.history ?? [])];
  for (const step of steps) {
    if (step.layer) diffIds.push(step.layer.diffId);
    history.push(step.layer ? step.history : { ...step.history, empty_layer: true });
  }
  return {
    created,
    architecture: parent?.architecture ?? ociArchitecture(process.arch),
    os: parent?.os ?? 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
  };
}

/**
 * Stores the config and manifest of an image whose layer blobs are in the content store, and tags it.
 * `layers` is the whole chain, bottom first, matching `configFile.rootfs.diff_ids`.
 */
export async function storeImage(
  store: ImageStore,
  configFile: OciImageConfigFile,
  layers: LayerDescriptor[],
  references: string[],
): Promise<ResolvedImage> {
  const content: ContentStore = store.content;
  const config = await content.putJSON(configFile);
  const manifest = await content.putJSON(buildManifest({ mediaType: MEDIA_TYPE_CONFIG, ...config }, layers));
  return store.tagManifest(
    { mediaType: MEDIA_TYPE_MANIFEST, digest: manifest.digest, size: manifest.size },
    references,
  );
}

/** Makes the new image; an empty upper dir still makes a layer, as `docker commit` does. */
export async function commitUpperDir(store: ImageStore, options: CommitOptions): Promise<ResolvedImage> {
  const parentFile = await store.readConfigFile(options.parent);
  const layer = await writeDiffLayer(store.content, options.upperDir, { overlay: true });
  const created = (options.now ?? new Date()).toISOString();
  const history: HistoryEntry = {
    created,
    created_by: options.createdBy ?? 'berth commit',
    ...(options.message ? { comment: options.message } : {}),
    ...(options.author ? { author: options.author } : {}),
  };
  const descriptor: LayerDescriptor = {
    mediaType: layer.mediaType,
    digest: layer.digest,
    size: layer.size,
    diffId: layer.diffId,
  };
  const configFile = computeChildConfigFile(
    parentFile,
    [{ layer: descriptor, history }],
    options.config ?? parentFile.config ?? {},
    created,
  );
  return storeImage(store, configFile, [...options.parent.layers, descriptor], [options.reference]);
}

/** `berth commit` of a task that runs without an image (a plain process on the host). */
export class TaskWithoutImageError extends BerthError {
  readonly code = 'ERR_TASK_HAS_NO_IMAGE';
  constructor(readonly task: string) {
    super(`task ${task} runs without an image, so it has no writable layer to commit`);
  }
}

/** The task's writable layer is gone (an `--rm` task, or a process-launcher task). */
export class NoWritableLayerError extends BerthError {
  readonly code = 'ERR_NO_WRITABLE_LAYER';
  constructor(readonly task: string) {
    super(`task ${task} has no writable layer to commit: it was removed (--rm) or ran without runc`);
  }
}
