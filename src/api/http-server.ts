/**
 * What every berth HTTP listener shares: one error format (`{ code, message }`, status from the code),
 * bearer-token checks, and RecordIO event streams on a hijacked response.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  BerthError,
  describeError,
  httpStatusFor,
  InvalidArgumentError,
  UnauthorizedError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { encodeRecord } from './recordio.js';

export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: unknown, _req, reply) => {
    if (err instanceof BerthError) {
      void reply.status(httpStatusFor(err.code)).send(err.toJSON());
      return;
    }
    const e = err as { validation?: unknown; statusCode?: number; message?: string; code?: string };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      void reply.status(e.statusCode ?? 400).send({
        code: e.code?.startsWith('FST_') ? 'ERR_INVALID_REQUEST' : (e.code ?? 'ERR_INVALID_REQUEST'),
        message: e.message ?? 'bad request',
      });
      return;
    }
    logger.error({ err }, 'request failed');
    void reply.status(500).send({ code: 'ERR_INTERNAL', message: e.message ?? 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ code: 'ERR_ROUTE_NOT_FOUND', message: `no such endpoint: ${req.method} ${req.url}` });
  });
}

/** Requires `Authorization: Bearer <token>` on every request when a token is set. */
export function installTokenAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  const expected = Buffer.from(token);
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedError(
        'a valid bearer token is required: set BERTH_TOKEN or use the token file in the data dir',
      );
    }
  });
}

export interface RecordStream<T> {
  send(record: T): void;
  close(): void;
  readonly closed: boolean;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** Takes over the response and streams RecordIO records on it. */
export function openRecordStream<T>(
  reply: FastifyReply,
  headers: Record<string, string> = {},
): RecordStream<T> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'application/recordio', 'cache-control': 'no-store', ...headers });
  const abort = new AbortController();
  raw.on('close', () => abort.abort());
  return {
    send(record) {
      if (!raw.writableEnded && !raw.destroyed) raw.write(encodeRecord(record));
    },
    close() {
      if (!raw.writableEnded) raw.end();
    },
    get closed() {
      return raw.writableEnded || raw.destroyed;
    },
    signal: abort.signal,
  };
}

export function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function requireHeader(req: FastifyRequest, name: string): string {
  const v = headerValue(req, name);
  if (!v) throw new InvalidArgumentError(`the ${name} header is required`);
  return v;
}

/**
 * Serves an async iterator as a RecordIO stream. The first record is awaited before the response starts,
 * so that an error there (unknown task, removed sandbox) is still an ordinary HTTP error; a failure later
 * becomes a final `ERROR` record. The iterator is closed when the client goes away.
 */
export async function serveRecords<T>(
  reply: FastifyReply,
  open: (signal: AbortSignal) => AsyncIterator<T>,
  headers: Record<string, string> = {},
): Promise<void> {
  const abort = new AbortController();
  const records = open(abort.signal);
  const first = await records.next();
  const stream = openRecordStream<T | { type: 'ERROR'; error: { message: string } }>(reply, headers);
  stream.signal.addEventListener('abort', () => abort.abort());
  try {
    if (!first.done) stream.send(first.value);
    for (let r = await records.next(); !r.done && !stream.closed; r = await records.next())
      stream.send(r.value);
  } catch (err) {
    stream.send({ type: 'ERROR', error: { message: describeError(err) } });
  } finally {
    await records.return?.(undefined);
    stream.close();
  }
}
