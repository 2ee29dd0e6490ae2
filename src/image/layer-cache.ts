import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { ContentStore } from './content-store.js';
import { digestHex } from './digest.js';
import { BadLayerError } from './errors.js';
import { extractLayer } from './extract-layer.js';
import { errnoCode, fsyncDir, randomName } from '../core/fs.js';
import { layerCompression, type LayerDescriptor } from './oci.js';

/**
 * Unpacked layers, one directory per diff id (`layers/sha256/<hex>/`), each usable as an overlayfs
 * lower dir. A layer is unpacked into `layers/tmp-<random>` and renamed into place only when complete
 * and verified, so a crash never leaves a half layer that looks complete. Concurrent requests for the
 * same layer in this process share one unpacking.
 */
export class LayerCache {
  private readonly inflight = new Map<string, Promise<string>>();

  private constructor(
    readonly dir: string,
    private readonly content: ContentStore,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, content: ContentStore, logger: Logger): Promise<LayerCache> {
    await mkdir(join(dir, 'sha256'), { recursive: true });
    return new LayerCache(dir, content, logger);
  }

  /** The directory a layer unpacks to (which may not exist yet). */
  pathFor(diffId: string): string {
    const hex = digestHex(diffId);
    if (hex === undefined) throw new BadLayerError(`layer diff id "${diffId}" is not a sha256 digest`);
    return join(this.dir, 'sha256', hex);
  }

  /** Unpacks the layer unless it already is; returns its directory. */
  prepare(layer: LayerDescriptor): Promise<string> {
    const running = this.inflight.get(layer.diffId);
    if (running !== undefined) return running;
    const promise = this.unpack(layer).finally(() => this.inflight.delete(layer.diffId));
    this.inflight.set(layer.diffId, promise);
    return promise;
  }

  private async unpack(layer: LayerDescriptor): Promise<string> {
    const final = this.pathFor(layer.diffId);
    if (await isDirectory(final)) return final;
    const compression = layerCompression(layer.mediaType);
    if (compression !== 'gzip' && compression !== 'none') {
      throw new BadLayerError(
        `layer ${layer.digest} has media type ${layer.mediaType}, which berth cannot unpack (use gzip or plain tar layers)`,
      );
    }
    const tmp = join(this.dir, `tmp-${randomName()}`);
    try {
      await mkdir(tmp);
      await chmod(tmp, 0o755);
      const result = await extractLayer(this.content.createReadStream(layer.digest), tmp, {
        compression,
        expectedDiffId: layer.diffId,
      });
      for (const note of result.notes) this.logger.debug({ layer: layer.diffId }, note);
      await this.commit(tmp, final);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return final;
  }

  private async commit(tmp: string, final: string): Promise<void> {
    try {
      await rename(tmp, final);
    } catch (err) {
      const code = errnoCode(err);
      // Another process unpacked the same layer first: its copy is as good as ours.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await isDirectory(final))) {
        await rm(tmp, { recursive: true, force: true });
        return;
      }
      throw err;
    }
    await fsyncDir(join(this.dir, 'sha256'));
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
