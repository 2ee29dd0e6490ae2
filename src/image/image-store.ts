import { access, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { silentLogger, type Logger } from '../core/logger.js';
import { ContentStore } from './content-store.js';
import { BadLayerError, ImageNotFoundError, InvalidReferenceError } from './errors.js';
import { writeFileAtomic } from '../core/fs.js';
import { ImageIndex } from './image-index.js';
import { importSourceKind, writeSourceLayer } from './import-rootfs.js';
import { LayerCache } from './layer-cache.js';
import {
  ANNOTATION_REF_NAME,
  buildImportConfig,
  buildManifest,
  computeTaggedIndex,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_MANIFEST,
  type Descriptor,
  type ImageConfig,
  type LayerDescriptor,
  type OciImageConfigFile,
  type OciManifest,
} from './oci.js';
import { formatReference, parseReference, type ParsedReference } from './reference.js';

export interface ResolvedImage {
  /** The normalized reference, "repo:tag" or "repo@digest", as resolved. */
  reference: string;
  manifestDigest: string;
  configDigest: string;
  /** The "config" object of the OCI image config. */
  config: ImageConfig;
  created: string;
  /** Bottom layer first. */
  layers: LayerDescriptor[];
  /** Layer blobs + config + manifest, in bytes. */
  size: number;
}

export interface ImageSummary {
  repository: string;
  tag: string;
  digest: string;
  size: number;
  created: string;
}

export interface ImportOptions {
  config?: ImageConfig;
  /** What the history entry names as the source (default: the source path's base name). */
  sourceName?: string;
  now?: Date;
}

const OCI_LAYOUT = `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`;

/**
 * The local image store: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`) plus a
 * cache of unpacked layers (`layers/`). Tags live in index.json under the
 * `org.opencontainers.image.ref.name` annotation, spelled "repo:tag".
 */
export class ImageStore {
  private constructor(
    readonly root: string,
    readonly content: ContentStore,
    private readonly index: ImageIndex,
    private readonly layers: LayerCache,
  ) {}

  /** Opens (creating when missing) the store under `root`, e.g. ~/.berth/images. */
  static async open(root: string, options: { logger?: Logger } = {}): Promise<ImageStore> {
    await mkdir(root, { recursive: true });
    const layoutFile = join(root, 'oci-layout');
    await access(layoutFile).catch(() => writeFileAtomic(layoutFile, OCI_LAYOUT));
    const content = await ContentStore.open(root);
    const layers = await LayerCache.open(join(root, 'layers'), content, options.logger ?? silentLogger);
    return new ImageStore(root, content, new ImageIndex(join(root, 'index.json')), layers);
  }

  /**
   * Makes a one-layer image from a root file system (a directory, or a tar file, plain or gzip) and
   * tags it as `reference`, replacing the tag's previous image.
   */
  async importRootfs(source: string, reference: string, options: ImportOptions = {}): Promise<ResolvedImage> {
    const ref = parseReference(reference);
    if (ref.digest !== undefined || ref.tag === undefined) {
      throw new InvalidReferenceError(reference, 'an imported image needs a tag, not a digest');
    }
    const kind = await importSourceKind(source);
    const layer = await writeSourceLayer(this.content, source, kind);
    const created = (options.now ?? new Date()).toISOString();
    const configFile = buildImportConfig({
      diffId: layer.diffId,
      created,
      createdBy: `berth image import ${options.sourceName ?? basename(source)}`,
      ...(options.config !== undefined ? { config: options.config } : {}),
    });
    const config = await this.content.putJSON(configFile);
    const manifest = await this.content.putJSON(
      buildManifest({ mediaType: MEDIA_TYPE_CONFIG, ...config }, [layer]),
    );
    const descriptor: Descriptor = {
      mediaType: MEDIA_TYPE_MANIFEST,
      digest: manifest.digest,
      size: manifest.size,
    };
    const refName = formatReference(ref);
    await this.index.update((index) => computeTaggedIndex(index, refName, descriptor));
    return this.resolve(refName);
  }

  /** Every tagged image, sorted by repository, then tag. */
  async list(): Promise<ImageSummary[]> {
    const index = await this.index.read();
    const out: ImageSummary[] = [];
    for (const entry of index.manifests) {
      const ref = refOf(entry);
      if (ref?.tag === undefined) continue;
      const image = await this.load(formatReference(ref), entry);
      out.push({
        repository: ref.repository,
        tag: ref.tag,
        digest: entry.digest,
        size: image.size,
        created: image.created,
      });
    }
    return out.sort((a, b) => compare(a.repository, b.repository) || compare(a.tag, b.tag));
  }

  /** The image a reference names ("busybox" means "busybox:latest"); ERR_IMAGE_NOT_FOUND if absent. */
  async resolve(reference: string): Promise<ResolvedImage> {
    const ref = parseReference(reference);
    const normalized = formatReference(ref);
    const index = await this.index.read();
    const entry = index.manifests.find((candidate) => matches(refOf(candidate), ref, candidate.digest));
    if (entry === undefined) throw new ImageNotFoundError(normalized);
    return this.load(normalized, entry);
  }

  /**
   * Unpacks each layer of the image into the layer cache (once) and returns the directories top
   * layer first, the order overlayfs's lowerdir wants.
   */
  async prepareLayers(image: ResolvedImage): Promise<string[]> {
    const dirs = await Promise.all(image.layers.map((layer) => this.layers.prepare(layer)));
    return dirs.reverse();
  }

  /** The directory a layer is (or will be) unpacked to. */
  layerPath(diffId: string): string {
    return this.layers.pathFor(diffId);
  }

  /** The whole OCI config file of an image: diff ids and history as well as the runtime config. */
  async readConfigFile(image: ResolvedImage): Promise<OciImageConfigFile> {
    return this.content.readJSON<OciImageConfigFile>(image.configDigest);
  }

  /** The manifests of index.json, tagged or not (what keeps blobs alive). */
  async indexEntries(): Promise<Descriptor[]> {
    return (await this.index.read()).manifests;
  }

  /**
   * Tags a manifest that is already in the content store (with its config and layers) as each of
   * `references` ("repo:tag"), after checking that it loads. Returns the image of the first one.
   */
  async tagManifest(manifest: Descriptor, references: string[]): Promise<ResolvedImage> {
    const names = references.map((r) => taggedName(r));
    const first = names[0];
    if (first === undefined) throw new InvalidReferenceError('', 'an image needs at least one tag');
    const entry: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    await this.load(first, entry);
    await this.index.update((index) =>
      names.reduce((acc, name) => computeTaggedIndex(acc, name, entry), index),
    );
    return this.resolve(first);
  }

  /** Points the tag `target` at the image `source` names (`berth tag`). */
  async tag(source: string, target: string): Promise<ResolvedImage> {
    const image = await this.resolve(source);
    const entry = (await this.index.read()).manifests.find((m) => m.digest === image.manifestDigest);
    if (entry === undefined) throw new ImageNotFoundError(source);
    return this.tagManifest(entry, [target]);
  }

  /**
   * Removes a tag ("repo:tag"), or every tag of "repo@digest", from the index. Blobs stay until a prune.
   * Returns the names removed and the manifest digest they pointed at.
   */
  async untag(reference: string): Promise<{ digest: string; removed: string[] }> {
    const image = await this.resolve(reference);
    const wanted = parseReference(reference);
    const removed: string[] = [];
    await this.index.update((index) => ({
      ...index,
      manifests: index.manifests.filter((entry) => {
        const hit = matches(refOf(entry), wanted, entry.digest);
        if (hit) removed.push(entry.annotations?.[ANNOTATION_REF_NAME] ?? entry.digest);
        return !hit;
      }),
    }));
    return { digest: image.manifestDigest, removed };
  }

  /**
   * Names a manifest that is already in the content store (with its config and layers) by digest,
   * "repo@sha256:…" (a pull by digest), after checking that it loads. Such a name lists no tag.
   */
  async nameManifestByDigest(manifest: Descriptor, repository: string): Promise<ResolvedImage> {
    const name = formatReference({
      repository: parseReference(repository).repository,
      digest: manifest.digest,
    });
    const entry: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    await this.load(name, entry);
    await this.index.update((index) => computeTaggedIndex(index, name, entry));
    return this.resolve(name);
  }

  private async load(reference: string, entry: Descriptor): Promise<ResolvedImage> {
    const manifest = await this.content.readJSON<OciManifest>(entry.digest);
    const configFile = await this.content.readJSON<OciImageConfigFile>(manifest.config.digest);
    const diffIds = configFile.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new BadLayerError(
        `image "${reference}" is inconsistent: its manifest lists ${manifest.layers.length} layers but its config ${diffIds.length} diff ids`,
      );
    }
    const layers = manifest.layers.map((layer, i) => ({
      mediaType: layer.mediaType,
      digest: layer.digest,
      size: layer.size,
      diffId: diffIds[i] ?? '',
    }));
    const size = layers.reduce((sum, layer) => sum + layer.size, manifest.config.size + entry.size);
    return {
      reference,
      manifestDigest: entry.digest,
      configDigest: manifest.config.digest,
      config: configFile.config ?? {},
      created: configFile.created ?? new Date(0).toISOString(),
      layers,
      size,
    };
  }
}

/** "repo:tag" of a reference that names a tag (not a digest); "repo" alone means "repo:latest". */
function taggedName(reference: string): string {
  const ref = parseReference(reference);
  if (ref.digest !== undefined || ref.tag === undefined)
    throw new InvalidReferenceError(reference, 'a tag is needed here, not a digest');
  return formatReference(ref);
}

function refOf(entry: Descriptor): ParsedReference | undefined {
  const name = entry.annotations?.[ANNOTATION_REF_NAME];
  if (name === undefined) return undefined;
  try {
    return parseReference(name);
  } catch {
    return undefined; // a tag written by another tool in its own spelling: not ours to list
  }
}

/** Whether an index entry answers a reference: same repository, and same tag or manifest digest. */
function matches(entryRef: ParsedReference | undefined, wanted: ParsedReference, digest: string): boolean {
  if (entryRef === undefined || entryRef.repository !== wanted.repository) return false;
  if (wanted.digest !== undefined) return wanted.digest === digest;
  return entryRef.tag === wanted.tag;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
