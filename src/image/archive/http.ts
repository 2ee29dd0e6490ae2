/**
 * `GET /api/v1/images/save?ref=IMAGE[&ref=…]` streams an OCI layout archive of the images;
 * `POST /api/v1/images/load[?tag=NAME]` takes one (OCI layout or docker-archive, plain or gzip) as the
 * body, spooled to the store's ingest dir first, and answers `{ images: [...] }`.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import tar from 'tar-stream';
import { InvalidArgumentError } from '../../core/errors.js';
import { randomName } from '../../core/fs.js';
import type { ImageStore } from '../image-store.js';
import { loadArchive } from './load.js';
import { saveImages } from './save.js';

export function registerArchiveRoutes(app: FastifyInstance, images: ImageStore): void {
  app.get<{ Querystring: { ref?: string | string[] } }>('/api/v1/images/save', async (req, reply) => {
    const refs =
      req.query.ref === undefined ? [] : Array.isArray(req.query.ref) ? req.query.ref : [req.query.ref];
    if (refs.length === 0) throw new InvalidArgumentError('name the images to save: ?ref=IMAGE');
    for (const ref of refs) await images.resolve(ref); // a missing image is a 404 before the stream starts
    const pack = tar.pack();
    saveImages(images, refs, pack).catch((err: unknown) =>
      pack.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    return reply.type('application/x-tar').send(Readable.from(pack));
  });

  app.post<{ Querystring: { tag?: string } }>('/api/v1/images/load', async (req, reply) => {
    const body = req.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function')
      throw new InvalidArgumentError('send the archive as a tar body (Content-Type: application/x-tar)');
    const spool = join(images.root, 'ingest', `load-${randomName()}.tar`);
    try {
      await pipeline(body, createWriteStream(spool, { mode: 0o600 }));
      const loaded = await loadArchive(images, spool, req.query.tag ? { tag: req.query.tag } : {});
      return reply.status(201).send({ images: loaded });
    } finally {
      await rm(spool, { force: true });
    }
  });
}
