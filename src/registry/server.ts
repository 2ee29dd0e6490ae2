/**
 * A registry on its own listener: `berth registry` and the one `berth up` starts. Optional basic auth
 * from an htpasswd file, and garbage collection on an interval.
 */
import Fastify from 'fastify';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { BasicAuth, loadHtpasswd } from './auth.js';
import { registerRegistryRoutes } from './http-routes.js';
import { Registry } from './registry.js';

export interface StartRegistryOptions {
  /** Where blobs, uploads and registry.db live. */
  root: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  listen?: string;
  htpasswd?: string;
  /** Run garbage collection this often (0 or absent: only on request). */
  gcIntervalMs?: number;
  gcGraceMs?: number;
  maxManifestBytes?: number;
  maxBodyBytes?: number;
  verifyBlobReads?: boolean;
  logger?: Logger;
  clock?: Clock;
}

export interface RunningRegistry {
  /** http://host:port, for clients. */
  url: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

export async function startRegistry(options: StartRegistryOptions): Promise<RunningRegistry> {
  const logger = options.logger ?? silentLogger;
  const auth = options.htpasswd ? new BasicAuth(loadHtpasswd(options.htpasswd)) : undefined;
  const registry = await Registry.open({
    root: options.root,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.gcGraceMs !== undefined ? { gcGraceMs: options.gcGraceMs } : {}),
    ...(options.maxManifestBytes !== undefined ? { maxManifestBytes: options.maxManifestBytes } : {}),
    ...(options.verifyBlobReads !== undefined ? { verifyBlobReads: options.verifyBlobReads } : {}),
  });
  const app = Fastify({ logger: false, exposeHeadRoutes: false });
  registerRegistryRoutes(app, registry, {
    ...(auth ? { auth } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    logger,
  });
  const host = options.listen ?? '127.0.0.1';
  try {
    await app.listen({ port: options.port, host });
  } catch (err) {
    registry.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const timer = startGcTimer(registry, options.gcIntervalMs, logger);
  return {
    url: `http://${shown}:${port}`,
    port,
    registry,
    async close() {
      if (timer) clearInterval(timer);
      await app.close();
      registry.close();
    },
  };
}

function startGcTimer(
  registry: Registry,
  intervalMs: number | undefined,
  logger: Logger,
): NodeJS.Timeout | undefined {
  if (!intervalMs || intervalMs <= 0) return undefined;
  const timer = setInterval(() => {
    registry.gc().then(
      (report) => logger.info({ report }, 'registry garbage collection done'),
      (err: unknown) => logger.error({ err }, 'registry garbage collection failed'),
    );
  }, intervalMs);
  timer.unref();
  return timer;
}
