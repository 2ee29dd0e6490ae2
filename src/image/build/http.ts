/**
 * `POST /api/v1/images/build?t=NAME[:TAG]&dockerfile=PATH&buildarg=K=V`: the body is the build context
 * as a tar (the CLI packs it, honoring .dockerignore); the answer is a RecordIO stream of BuildEvents
 * (STEP, OUTPUT, WARNING, then DONE or ERROR).
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { openRecordStream } from '../../api/http-server.js';
import { BerthError, describeError, InvalidArgumentError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { createLauncher, detectRuntime, type Launcher } from '../../runtime/index.js';
import { resolveOrPull } from '../client/index.js';
import { extractLayer } from '../extract-layer.js';
import { randomName } from '../../core/fs.js';
import type { ImageStore, ResolvedImage } from '../image-store.js';
import type { InUseRegistry } from '../prune.js';
import { parseReference } from '../reference.js';
import { buildImage, type BuildEvent } from './builder.js';
import { resolveInContext } from './context.js';
import { BuildContextError } from './errors.js';

export interface BuildRouteOptions {
  /** Where builds keep their contexts and steps (`<data-dir>/build`). */
  workDir: string;
  registry?: InUseRegistry;
  pull?: (reference: string) => Promise<ResolvedImage>;
  logger?: Logger;
}

interface BuildQuery {
  t?: string | string[];
  dockerfile?: string;
  buildarg?: string | string[];
}

const MAX_DOCKERFILE = 1024 * 1024;
const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Parses the query: tags (at least one, each "repo[:tag]") and build args ("K=V"). */
export function parseBuildQuery(query: BuildQuery): {
  tags: string[];
  dockerfile: string;
  buildArgs: Record<string, string>;
} {
  const tags = list(query.t);
  if (tags.length === 0) throw new InvalidArgumentError('a build needs a name: -t NAME[:TAG]');
  for (const tag of tags) {
    const ref = parseReference(tag);
    if (ref.digest !== undefined) throw new InvalidArgumentError(`-t ${tag}: give a tag, not a digest`);
  }
  const buildArgs: Record<string, string> = {};
  for (const pair of list(query.buildarg)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`bad build arg "${pair}": use --build-arg KEY=VALUE`);
    buildArgs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { tags, dockerfile: query.dockerfile || 'Dockerfile', buildArgs };
}

export function registerBuildRoutes(
  app: FastifyInstance,
  images: ImageStore,
  options: BuildRouteOptions,
): void {
  let launcher: { launcher?: Launcher; reason?: string } | undefined;
  const runtime = (): { launcher?: Launcher; reason?: string } => {
    if (launcher) return launcher;
    const detected = detectRuntime();
    launcher =
      detected.kind === 'runc'
        ? {
            launcher: createLauncher('runc', {
              stateRoot: join(options.workDir, 'runc'),
              ...(options.logger ? { logger: options.logger } : {}),
            }),
          }
        : { reason: detected.reason ?? 'runc is not available' };
    return launcher;
  };

  app.post<{ Querystring: BuildQuery }>('/api/v1/images/build', async (req, reply) => {
    const query = parseBuildQuery(req.query);
    const body = req.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function')
      throw new InvalidArgumentError(
        'send the build context as a tar body (Content-Type: application/x-tar)',
      );
    const contextDir = join(options.workDir, `context-${randomName()}`);
    await mkdir(contextDir, { recursive: true, mode: 0o700 });
    try {
      await extractLayer(body, contextDir, { compression: 'none', asRoot: false });
      const dockerfile = await readDockerfile(contextDir, query.dockerfile);
      const stream = openRecordStream<BuildEvent>(reply);
      const { launcher: buildLauncher, reason } = runtime();
      try {
        await buildImage(
          { dockerfile, contextDir, tags: query.tags, buildArgs: query.buildArgs },
          {
            store: images,
            workDir: options.workDir,
            ...(buildLauncher ? { launcher: buildLauncher } : {}),
            ...(reason ? { runtimeUnavailable: reason } : {}),
            ...(options.registry ? { registry: options.registry } : {}),
            pull: options.pull ?? ((reference: string) => resolveOrPull(images, reference)),
          },
          (event) => stream.send(event),
        );
      } catch (err) {
        if (!(err instanceof BerthError)) options.logger?.warn({ err }, 'build failed');
        const code = err instanceof BerthError ? err.code : 'ERR_BUILD_FAILED';
        stream.send({ type: 'ERROR', error: { code, message: describeError(err) } });
      } finally {
        stream.close();
      }
    } finally {
      await rm(contextDir, { recursive: true, force: true });
    }
  });
}

async function readDockerfile(contextDir: string, name: string): Promise<string> {
  const path = await resolveInContext(contextDir, name, 'reading the Dockerfile');
  const info = await stat(path);
  if (!info.isFile()) throw new BuildContextError(`the Dockerfile "${name}" is not a file`);
  if (info.size > MAX_DOCKERFILE)
    throw new BuildContextError(`the Dockerfile "${name}" is larger than 1 MiB`);
  return readFile(path, 'utf8');
}
