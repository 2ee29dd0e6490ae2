/**
 * Image management routes on the master's listener: commit a task's writable layer, tag, remove,
 * history, inspect, prune; and (registered from here) build, save and load.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { registerArchiveRoutes } from './archive/index.js';
import { registerBuildRoutes } from './build/index.js';
import { commitUpperDir, NoWritableLayerError, TaskWithoutImageError } from './commit.js';
import type { ImageStore, ResolvedImage } from './image-store.js';
import type { HistoryEntry, OciManifest } from './oci.js';
import { ImageInUseError, InUseRegistry, pruneImages } from './prune.js';
import { normalizeReference } from './reference.js';

/** What the image routes need from the rest of the node (`berth up` passes these). */
export interface ImageRouteHooks {
  /** A task by id, id prefix/suffix or name: its id, its image reference and its sandbox dir. */
  findTask?: (ref: string) => Promise<TaskSandbox> | TaskSandbox;
  /** References of the images that tasks (running, or kept with their sandbox) use. */
  imagesInUse?: () => Promise<string[]> | string[];
  /** Where builds keep contexts and steps, e.g. `<data-dir>/build`; builds are off without it. */
  buildDir?: string;
  logger?: Logger;
}

export interface TaskSandbox {
  id: string;
  image?: string;
  sandbox: string;
  /** Whether the task is still running (a commit of a running task is allowed, as in Docker). */
  running?: boolean;
}

export interface HistoryRow extends HistoryEntry {
  /** The size of the layer this entry made (its compressed blob); 0 for an empty layer. */
  size: number;
  layer?: string;
}

/** Pairs history entries with the layers that the non-empty ones made. Pure. */
export function computeHistoryRows(history: HistoryEntry[], layers: ResolvedImage['layers']): HistoryRow[] {
  let next = 0;
  const rows = history.map((entry) => {
    if (entry.empty_layer) return { ...entry, size: 0 };
    const layer = layers[next++];
    return { ...entry, size: layer?.size ?? 0, ...(layer ? { layer: layer.digest } : {}) };
  });
  return rows.reverse();
}

function body<T>(value: unknown): Partial<T> {
  return (value !== null && typeof value === 'object' ? value : {}) as Partial<T>;
}

export function registerManageRoutes(
  app: FastifyInstance,
  images: ImageStore,
  hooks: ImageRouteHooks = {},
): void {
  const registry = new InUseRegistry();
  const inUse = async (): Promise<string[]> => (hooks.imagesInUse ? await hooks.imagesInUse() : []);

  app.post<{ Params: { id: string } }>('/api/v1/tasks/:id/commit', async (req, reply) => {
    const { reference, message, author } = body<{ reference: string; message: string; author: string }>(
      req.body,
    );
    if (typeof reference !== 'string' || reference === '')
      throw new InvalidArgumentError('give the new image a name: {"reference": "NAME[:TAG]"}');
    if (!hooks.findTask)
      throw new InvalidArgumentError('this node cannot commit tasks: its agent runs elsewhere');
    const task = await hooks.findTask(req.params.id);
    if (!task.image) throw new TaskWithoutImageError(task.id);
    const upperDir = join(task.sandbox, 'upper');
    if (
      !(await stat(upperDir).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      throw new NoWritableLayerError(task.id);
    const image = await commitUpperDir(images, {
      upperDir,
      parent: await images.resolve(task.image),
      reference: normalizeReference(reference),
      ...(typeof message === 'string' && message !== '' ? { message } : {}),
      ...(typeof author === 'string' && author !== '' ? { author } : {}),
      createdBy: `berth commit ${task.id}`,
    });
    return reply.status(201).send(image);
  });

  app.post('/api/v1/images/tag', async (req, reply) => {
    const { source, target } = body<{ source: string; target: string }>(req.body);
    if (typeof source !== 'string' || typeof target !== 'string')
      throw new InvalidArgumentError('give {"source": "IMAGE", "target": "NAME[:TAG]"}');
    return reply.status(201).send(await images.tag(source, target));
  });

  app.post('/api/v1/images/remove', async (req) => {
    const { reference, force } = body<{ reference: string; force: boolean }>(req.body);
    if (typeof reference !== 'string') throw new InvalidArgumentError('give {"reference": "IMAGE"}');
    const image = await images.resolve(reference);
    if (force !== true) {
      for (const used of await inUse()) {
        const other = await images.resolve(used).catch(() => undefined);
        if (other?.manifestDigest === image.manifestDigest) throw new ImageInUseError(image.reference);
      }
    }
    return images.untag(reference);
  });

  app.get<{ Params: { ref: string } }>('/api/v1/images/:ref/history', async (req) => {
    const image = await images.resolve(decodeURIComponent(req.params.ref));
    const configFile = await images.readConfigFile(image);
    return {
      reference: image.reference,
      history: computeHistoryRows(configFile.history ?? [], image.layers),
    };
  });

  app.get<{ Params: { ref: string } }>('/api/v1/images/:ref/inspect', async (req) => {
    const image = await images.resolve(decodeURIComponent(req.params.ref));
    return {
      reference: image.reference,
      manifestDigest: image.manifestDigest,
      manifest: await images.content.readJSON<OciManifest>(image.manifestDigest),
      config: await images.readConfigFile(image),
    };
  });

  app.post<{ Querystring: { grace?: string } }>('/api/v1/images/prune', async (req) => {
    const grace = req.query.grace === undefined ? undefined : Number(req.query.grace) * 1000;
    if (grace !== undefined && !(grace >= 0))
      throw new InvalidArgumentError('bad grace: use seconds, e.g. 10');
    return pruneImages(images, {
      inUseReferences: await inUse(),
      registry,
      ...(grace !== undefined ? { graceMs: grace } : {}),
    });
  });

  if (hooks.buildDir !== undefined)
    registerBuildRoutes(app, images, {
      workDir: hooks.buildDir,
      registry,
      ...(hooks.logger ? { logger: hooks.logger } : {}),
    });
  registerArchiveRoutes(app, images);
}
