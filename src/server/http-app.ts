/** What every berth server process shares: its fastify app, the listen step, and the API token. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler, installTokenAuth } from '../api/http-server.js';
import { BerthError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export class PortInUseError extends BerthError {
  readonly code = 'ERR_PORT_IN_USE';
  constructor(port: number, listen: string) {
    super(
      `port ${port} on ${listen} is already in use: is berth already running? Stop it, or pick another port with --port`,
    );
  }
}

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** The cluster token lives in `<data-dir>/token`, mode 0600; it is made on first start. */
export function ensureToken(dataDir: string): string {
  const path = join(dataDir, 'token');
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/** A fastify app with berth's error format; requests need the token when one is given. */
export function buildApp(logger: Logger, token: string | undefined): FastifyInstance {
  // forceCloseConnections: event streams (schedulers, agents, output followers) must not hold up a stop.
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, forceCloseConnections: true });
  installErrorHandler(app, logger);
  installTokenAuth(app, token);
  return app;
}

const LISTEN_BACKLOG = 65_535;

/** Listens and returns the URL clients use. */
export async function listenApp(app: FastifyInstance, port: number, host: string): Promise<string> {
  try {
    // A long accept queue: 10k agents knock at once on a restarted master, whose loop is busy loading its
    // state; with Node's default of 511 the rest of their handshakes are dropped and each client's
    // kernel retries with backoff (1, 2, 4 … s), which left hundreds of agents out for 30 s and more.
    // (Linux caps this at net.core.somaxconn.)
    await app.listen({ port, host, backlog: LISTEN_BACKLOG });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, host);
    throw err;
  }
  const address = app.server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${actual}`;
}
