/**
 * The image store's HTTP face on the master's listener in `berth up`: list images, and import a root
 * file system sent as a tar body (`berth image import`). The upload is spooled to the store's ingest dir
 * and imported from there, so a broken upload leaves no image and no stray files.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../core/errors.js';
import { registerTransferRoutes } from './client/index.js';
import { randomName } from '../core/fs.js';
import { registerManageRoutes, type ImageRouteHooks } from './http-manage.js';
import type { ImageStore } from './image-store.js';

export type { ImageRouteHooks, TaskSandbox } from './http-manage.js';

export function registerImageRoutes(
  app: FastifyInstance,
  images: ImageStore,
  hooks: ImageRouteHooks = {},
): void {
  for (const type of ['application/x-tar', 'application/gzip', 'application/octet-stream']) {
    app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }

  app.get('/api/v1/images', async () => ({ images: await images.list() }));

  app.get<{ Params: { ref: string } }>('/api/v1/images/:ref', async (req) =>
    images.resolve(decodeURIComponent(req.params.ref)),
  );

  app.post<{ Querystring: { reference?: string; source?: string } }>(
    '/api/v1/images/import',
    async (req, reply) => {
      const reference = req.query.reference;
      if (!reference)
        throw new InvalidArgumentError(
          'the "reference" query parameter is required, e.g. ?reference=busybox:latest',
        );
      const body = req.body as Readable | undefined;
      if (!body || typeof body.pipe !== 'function')
        throw new InvalidArgumentError(
          'send the root file system as a tar body (Content-Type: application/x-tar)',
        );
      const spool = join(images.root, 'ingest', `upload-${randomName()}.tar`);
      try {
        await pipeline(body, createWriteStream(spool, { mode: 0o600 }));
        const source = req.query.source?.replace(/[^\w.@:+-]/g, '_').slice(0, 100);
        const image = await images.importRootfs(spool, reference, source ? { sourceName: source } : {});
        return reply.status(201).send(image);
      } finally {
        await rm(spool, { force: true });
      }
    },
  );

  registerTransferRoutes(app, images);
  registerManageRoutes(app, images, hooks);
}
