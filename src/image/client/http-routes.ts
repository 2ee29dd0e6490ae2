/**
 * `POST /api/v1/images/pull` and `POST /api/v1/images/push` on the master's listener: the node's image
 * store pulls from or pushes to a registry, and the answer is a RecordIO stream of TransferRecords
 * (PROGRESS…, then DONE or ERROR). Body: `{"reference": "127.0.0.1:5000/app:1", "insecure": false}`.
 * Credentials for the registry may come in `X-Registry-Auth: base64(JSON {"username","password"})`
 * (Docker Engine's header); without it the server's own stored credentials for the host are used.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { openRecordStream } from '../../api/http-server.js';
import { BerthError, describeError, InvalidArgumentError } from '../../core/errors.js';
import type { ImageStore } from '../image-store.js';
import type { Credentials } from './credentials.js';
import type { TransferProgress } from './progress.js';
import { parseRegistryReference } from './registry-reference.js';
import { transferServiceFor, type TransferRequest } from './transfer-service.js';

export const REGISTRY_AUTH_HEADER = 'x-registry-auth';

export type TransferRecord =
  | { type: 'PROGRESS'; progress: TransferProgress }
  | { type: 'DONE'; reference: string; digest: string }
  | { type: 'ERROR'; error: { code: string; message: string } };

interface TransferBody {
  reference?: unknown;
  insecure?: unknown;
}

/** The value of X-Registry-Auth for credentials. */
export function encodeRegistryAuth(credentials: Credentials): string {
  return Buffer.from(JSON.stringify(credentials), 'utf8').toString('base64');
}

export function decodeRegistryAuth(header: string): Credentials {
  try {
    const value = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Partial<Credentials>;
    if (typeof value.username === 'string' && typeof value.password === 'string')
      return { username: value.username, password: value.password };
  } catch {
    // reported below
  }
  throw new InvalidArgumentError(
    'the X-Registry-Auth header must be base64 of JSON {"username": …, "password": …}',
  );
}

export function registerTransferRoutes(app: FastifyInstance, images: ImageStore): void {
  const service = transferServiceFor(images);
  app.post('/api/v1/images/pull', async (req, reply) => {
    const request = transferRequest(req, 'pull');
    await streamTransfer(reply, (onProgress) => service.pull({ ...request, onProgress }));
  });
  app.post('/api/v1/images/push', async (req, reply) => {
    const request = transferRequest(req, 'push');
    await streamTransfer(reply, (onProgress) => service.push({ ...request, onProgress }));
  });
}

/** Streams PROGRESS records while `run` works, then DONE or ERROR. */
async function streamTransfer(
  reply: FastifyReply,
  run: (onProgress: (progress: TransferProgress) => void) => Promise<{ reference: string; digest: string }>,
): Promise<void> {
  const stream = openRecordStream<TransferRecord>(reply);
  try {
    const result = await run((progress) => stream.send({ type: 'PROGRESS', progress }));
    stream.send({ type: 'DONE', reference: result.reference, digest: result.digest });
  } catch (err) {
    stream.send({ type: 'ERROR', error: errorRecord(err) });
  } finally {
    stream.close();
  }
}

/** Checks the request before the stream opens, so a bad one gets a plain 400. */
function transferRequest(req: FastifyRequest, action: 'pull' | 'push'): TransferRequest {
  const body = (req.body ?? {}) as TransferBody;
  if (typeof body.reference !== 'string' || body.reference === '')
    throw new InvalidArgumentError(`send {"reference": "HOST:PORT/REPO:TAG"} to ${action}`);
  parseRegistryReference(body.reference, action);
  const header = req.headers[REGISTRY_AUTH_HEADER];
  const auth = Array.isArray(header) ? header[0] : header;
  return {
    reference: body.reference,
    insecure: body.insecure === true,
    ...(auth ? { credentials: decodeRegistryAuth(auth) } : {}),
  };
}

function errorRecord(err: unknown): { code: string; message: string } {
  return err instanceof BerthError ? err.toJSON() : { code: 'ERR_INTERNAL', message: describeError(err) };
}
