/**
 * The second half of `berth load`: turning what an archive held into tagged images, for the two
 * formats. Every blob an image needs must be in the archive; a docker-archive's plain layers must
 * hash to their diff ids (gzip ones are checked when unpacked).
 */
import { storeImage } from '../commit.js';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import {
  ANNOTATION_REF_NAME,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_TAR,
  ociArchitecture,
  type Descriptor,
  type LayerDescriptor,
  type OciImageConfigFile,
  type OciIndex,
  type OciManifest,
} from '../oci.js';
import { parseReference } from '../reference.js';
import { BadArchiveError } from './errors.js';
import {
  blobIsGzip,
  parseJson,
  resolveArchivePath,
  type ArchiveContents,
  type LoadOptions,
} from './contents.js';
import { ANNOTATION_CONTAINERD_NAME } from './save.js';

const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** The names an index entry gives its image: containerd's full name, else a ref.name that parses. */
export function namesOf(entry: Descriptor): string[] {
  const full = entry.annotations?.[ANNOTATION_CONTAINERD_NAME];
  const ref = entry.annotations?.[ANNOTATION_REF_NAME];
  for (const raw of [full, ref]) {
    if (raw === undefined) continue;
    const name = familiarName(raw);
    try {
      const parsed = parseReference(name);
      if (parsed.tag !== undefined) return [name];
    } catch {
      // a bare tag like "v1" or a name in another tool's spelling: not usable as berth's name
    }
  }
  return [];
}

function chooseNames(found: string[], options: LoadOptions, count: number): string[] {
  if (options.tag !== undefined) {
    if (count > 1) throw new BadArchiveError('the archive holds several images: load it without -t');
    return [options.tag];
  }
  if (found.length === 0)
    throw new BadArchiveError('the archive does not name its image: give it one with -t NAME[:TAG]');
  return found;
}

async function requireBlob(store: ImageStore, digest: string, what: string): Promise<void> {
  if (!(await store.content.has(digest))) throw new BadArchiveError(`the archive lacks ${what} ${digest}`);
}

/** A nested index (multi-platform image): the manifest for linux and this machine's architecture. */
async function pickPlatform(store: ImageStore, index: OciIndex): Promise<Descriptor> {
  const arch = ociArchitecture(process.arch);
  const found =
    index.manifests.find((m) => {
      const p = (m as Descriptor & { platform?: { os?: string; architecture?: string } }).platform;
      return p?.os === 'linux' && p.architecture === arch;
    }) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined);
  if (found === undefined) throw new BadArchiveError(`the archive has no image for linux/${arch}`);
  await requireBlob(store, found.digest, 'the manifest');
  return found;
}

export async function assembleOciLayout(
  store: ImageStore,
  contents: ArchiveContents,
  options: LoadOptions,
): Promise<ResolvedImage[]> {
  const index = parseJson<OciIndex>(contents.metadata.get('index.json'), 'index.json');
  if (!Array.isArray(index.manifests) || index.manifests.length === 0)
    throw new BadArchiveError("the archive's index.json lists no image");
  const out: ResolvedImage[] = [];
  for (const entry of index.manifests) {
    await requireBlob(store, entry.digest, 'the manifest');
    let manifestDesc: Descriptor = entry;
    if (entry.mediaType === MEDIA_TYPE_INDEX || entry.mediaType === DOCKER_MANIFEST_LIST)
      manifestDesc = await pickPlatform(store, await store.content.readJSON<OciIndex>(entry.digest));
    const manifest = await store.content.readJSON<OciManifest>(manifestDesc.digest);
    await requireBlob(store, manifest.config.digest, 'the config');
    for (const layer of manifest.layers) await requireBlob(store, layer.digest, 'the layer');
    const names = chooseNames(namesOf(entry), options, index.manifests.length);
    out.push(
      await store.tagManifest(
        { mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size },
        names,
      ),
    );
  }
  return out;
}

interface DockerManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

export async function assembleDockerArchive(
  store: ImageStore,
  contents: ArchiveContents,
  options: LoadOptions,
): Promise<ResolvedImage[]> {
  const entries = parseJson<DockerManifestEntry[]>(contents.metadata.get('manifest.json'), 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0)
    throw new BadArchiveError("the archive's manifest.json lists no image");
  const out: ResolvedImage[] = [];
  for (const entry of entries) {
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers))
      throw new BadArchiveError('a manifest.json entry needs "Config" and "Layers"');
    const config = resolveArchivePath(contents, entry.Config, 'the config');
    const configFile = await store.content.readJSON<OciImageConfigFile>(config.digest);
    const diffIds = configFile.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length)
      throw new BadArchiveError(
        `the archive's config lists ${diffIds.length} diff ids but manifest.json ${entry.Layers.length} layers`,
      );
    const layers: LayerDescriptor[] = [];
    for (const [i, path] of entry.Layers.entries()) {
      if (typeof path !== 'string') throw new BadArchiveError('manifest.json "Layers" must be paths');
      layers.push(await dockerLayer(store, contents, path, diffIds[i] ?? ''));
    }
    const tags = Array.isArray(entry.RepoTags)
      ? entry.RepoTags.filter((t): t is string => typeof t === 'string')
      : [];
    const names = chooseNames(tags.map(familiarName).filter(usableName), options, entries.length);
    out.push(await storeImage(store, configFile, layers, names));
  }
  return out;
}

/** skopeo writes Docker Hub names in full ("docker.io/library/busybox:1"); berth names them as docker does. */
export function familiarName(name: string): string {
  return name.startsWith('docker.io/library/') ? name.slice('docker.io/library/'.length) : name;
}

function usableName(name: string): boolean {
  try {
    return parseReference(name).tag !== undefined;
  } catch {
    return false;
  }
}

async function dockerLayer(
  store: ImageStore,
  contents: ArchiveContents,
  path: string,
  diffId: string,
): Promise<LayerDescriptor> {
  const blob = resolveArchivePath(contents, path, 'the layer');
  const gzip = await blobIsGzip(store, blob.digest);
  if (!gzip && blob.digest !== diffId)
    throw new BadArchiveError(`layer "${path}" hashes to ${blob.digest}, not to its diff id ${diffId}`, path);
  return {
    mediaType: gzip ? MEDIA_TYPE_LAYER_GZIP : MEDIA_TYPE_LAYER_TAR,
    digest: blob.digest,
    size: blob.size,
    diffId,
  };
}
