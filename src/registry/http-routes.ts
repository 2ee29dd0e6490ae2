/**
 * The registry's HTTP face: the OCI Distribution v1.1 endpoints under `/v2/`, plus `POST /admin/gc`.
 * Registered in an encapsulated fastify scope, so its body handling (request bodies are read as raw
 * streams, never parsed), error format (`{"errors":[…]}`) and auth do not leak into a host app.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BasicAuth } from './auth.js';
import {
  BlobUploadInvalidError,
  DigestUnsupportedError,
  PaginationInvalidError,
  PayloadTooLargeError,
  RegistryError,
  RegistryUnauthorizedError,
  RouteUnknownError,
  UnsupportedError,
  ociErrorFor,
} from './errors.js';
import { formatTagsLink, parseRegistryPath, splitUrl, type RegistryRoute } from './http-paths.js';
import { OCI_INDEX } from './manifest.js';
import { checkDigest, checkRepositoryName, isValidRepositoryName } from './names.js';
import { evaluateRange, formatUploadRange, parseContentRange } from './ranges.js';
import type { Registry } from './registry.js';
import { sendFileBody } from './send-file.js';
import { uploadLocation, type Chunk } from './uploads.js';

export interface RegistryHttpOptions {
  /** Basic auth from an htpasswd file; without it every request is allowed. */
  auth?: BasicAuth;
  realm?: string;
  /** The largest body of a request that carries no blob data (default 1 MiB; manifests have their own limit). */
  maxBodyBytes?: number;
  logger?: Logger;
}

const API_VERSION = 'registry/2.0';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

type Req = FastifyRequest;
type Reply = FastifyReply;

export function registerRegistryRoutes(
  app: FastifyInstance,
  registry: Registry,
  options: RegistryHttpOptions = {},
): void {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.setErrorHandler((err, req, reply) => sendError(err, req, reply, options.logger));
    scope.addHook('onRequest', async (req, reply) => {
      void reply.header('docker-distribution-api-version', API_VERSION);
      if (options.auth && options.auth.check(req.headers.authorization) === undefined)
        throw new RegistryUnauthorizedError(options.realm ?? 'berth');
    });
    const handler = (req: Req, reply: Reply): Promise<Reply> => route(registry, req, reply, maxBodyBytes);
    scope.route({ method: [...METHODS], url: '/v2', handler });
    scope.route({ method: [...METHODS], url: '/v2/*', handler });
    scope.post('/admin/gc', async () => registry.gc());
  });
}

function sendError(err: unknown, req: Req, reply: Reply, logger: Logger | undefined): void {
  const mapped = err instanceof BerthError ? ociErrorFor(err.code) : undefined;
  const fastifyStatus = (err as { statusCode?: number }).statusCode;
  let status = mapped?.status ?? 500;
  let code: string = mapped?.oci ?? 'UNKNOWN';
  if (!mapped && fastifyStatus !== undefined && fastifyStatus >= 400 && fastifyStatus < 500) {
    status = fastifyStatus;
    code = 'UNSUPPORTED';
  }
  if (status >= 500) logger?.error({ err, url: req.url, method: req.method }, 'registry request failed');
  const message = err instanceof Error ? err.message : String(err);
  const detail = err instanceof RegistryError ? err.detail : undefined;
  if (err instanceof RegistryError) void reply.headers(err.headers);
  // A body we did not read may still be arriving: do not keep the connection for it.
  if (status === 413) void reply.header('connection', 'close');
  void reply
    .status(status)
    .header('docker-distribution-api-version', API_VERSION)
    .type('application/json')
    .send({ errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] });
}

async function route(registry: Registry, req: Req, reply: Reply, maxBodyBytes: number): Promise<Reply> {
  const { path, query } = splitUrl(req.url);
  const target = parseRegistryPath(path);
  if (!target) throw new RouteUnknownError(`no such registry endpoint: ${req.method} ${path}`);
  const carriesBlob = (target.kind === 'uploads' || target.kind === 'upload') && req.method !== 'GET';
  if (!carriesBlob && target.kind !== 'manifest') refuseLargeBody(req, maxBodyBytes);
  if (target.kind === 'base') {
    requireMethod(req, ['GET', 'HEAD']);
    return reply.type('application/json').send({});
  }
  checkRepositoryName(target.name);
  switch (target.kind) {
    case 'manifest':
      return manifestRoute(registry, target, query, req, reply);
    case 'blob':
      return blobRoute(registry, target, req, reply);
    case 'uploads':
      return startUploadRoute(registry, target.name, query, req, reply);
    case 'upload':
      return uploadRoute(registry, target, query, req, reply);
    case 'tags':
      return tagsRoute(registry, target.name, query, req, reply);
    case 'referrers':
      return referrersRoute(registry, target, query, req, reply);
  }
}

function requireMethod(req: Req, allowed: readonly string[]): void {
  if (!allowed.includes(req.method))
    throw new UnsupportedError(`${req.method} is not supported here: use ${allowed.join(', ')}`);
}

function hasBody(req: Req): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function refuseLargeBody(req: Req, limit: number): void {
  if (Number(req.headers['content-length'] ?? 0) > limit)
    throw new PayloadTooLargeError('the request body', limit);
}

async function readBody(req: Req, limit: number, what: string): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new PayloadTooLargeError(what, limit);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const data of req.raw) {
    total += (data as Buffer).length;
    if (total > limit) throw new PayloadTooLargeError(what, limit);
    chunks.push(data as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The chunk a PATCH, PUT or POST carries, with the Content-Range and Content-Length it claims. */
function chunkOf(req: Req): Chunk {
  const header = req.headers['content-range'];
  const range = header === undefined ? undefined : parseContentRange(header);
  if (header !== undefined && range === undefined)
    throw new BlobUploadInvalidError(`bad Content-Range "${header}": use <start>-<end>`);
  const length = req.headers['content-length'];
  return {
    body: hasBody(req) ? req.raw : Readable.from([]),
    ...(range ? { range } : {}),
    ...(length !== undefined ? { length: Number(length) } : {}),
  };
}

async function manifestRoute(
  registry: Registry,
  target: Extract<RegistryRoute, { kind: 'manifest' }>,
  query: URLSearchParams,
  req: Req,
  reply: Reply,
): Promise<Reply> {
  const { name, reference } = target;
  requireMethod(req, ['GET', 'HEAD', 'PUT', 'DELETE']);
  if (req.method === 'PUT') {
    const bytes = await readBody(req, registry.maxManifestBytes, 'the manifest');
    const put = await registry.putManifest(
      name,
      reference,
      bytes,
      req.headers['content-type'],
      query.getAll('tag'),
    );
    void reply.status(201).headers({
      location: `/v2/${name}/manifests/${put.digest}`,
      'docker-content-digest': put.digest,
      'content-length': 0,
    });
    if (put.subject) void reply.header('oci-subject', put.subject);
    if (query.has('tag') && put.tags.length > 0) void reply.header('oci-tag', put.tags.join(', '));
    return reply.send();
  }
  if (req.method === 'DELETE') {
    registry.deleteManifest(name, reference);
    return reply.status(202).header('content-length', 0).send();
  }
  const head = req.method === 'HEAD';
  const manifest = head
    ? registry.resolveManifest(name, reference)
    : await registry.getManifest(name, reference);
  void reply.headers({
    'content-type': manifest.mediaType,
    'content-length': manifest.size,
    'docker-content-digest': manifest.digest,
    etag: `"${manifest.digest}"`,
  });
  return reply.send(head || !('bytes' in manifest) ? undefined : manifest.bytes);
}

async function blobRoute(
  registry: Registry,
  target: Extract<RegistryRoute, { kind: 'blob' }>,
  req: Req,
  reply: Reply,
): Promise<Reply> {
  requireMethod(req, ['GET', 'HEAD', 'DELETE']);
  const digest = checkDigest(target.digest);
  if (req.method === 'DELETE') {
    registry.blobs.delete(target.name, digest);
    return reply.status(202).header('content-length', 0).send();
  }
  const { size } = await registry.blobs.stat(target.name, digest);
  void reply.headers({
    'docker-content-digest': digest,
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    etag: `"${digest}"`,
  });
  if (req.method === 'HEAD') return reply.header('content-length', size).send();
  const header = req.headers.range;
  const range = evaluateRange(header, size);
  if (range.kind === 'unsatisfiable')
    return reply.status(416).header('content-range', `bytes */${size}`).header('content-length', 0).send();
  const file = await registry.blobs.openFile(digest);
  if (range.kind === 'partial') {
    const { start, end } = range.range;
    void reply
      .status(206)
      .headers({ 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
    if (!file) return reply.send(registry.blobs.open(digest, range.range));
    await sendFileBody(reply, file, size, range.range);
    return reply;
  }
  void reply.header('content-length', size);
  if (!file) return reply.send(registry.blobs.open(digest));
  await sendFileBody(reply, file, size);
  return reply;
}

function uploadHeaders(reply: Reply, name: string, id: string, size: number): Reply {
  return reply.headers({
    location: uploadLocation(name, id),
    range: formatUploadRange(size),
    'docker-upload-uuid': id,
    'content-length': 0,
  });
}

function blobCreated(reply: Reply, name: string, digest: string): Reply {
  return reply
    .status(201)
    .headers({
      location: `/v2/${name}/blobs/${digest}`,
      'docker-content-digest': digest,
      'content-length': 0,
    })
    .send();
}

async function startUploadRoute(
  registry: Registry,
  name: string,
  query: URLSearchParams,
  req: Req,
  reply: Reply,
): Promise<Reply> {
  requireMethod(req, ['POST']);
  const mount = query.get('mount');
  const from = query.get('from');
  if (mount !== null && from !== null && isValidRepositoryName(from)) {
    const digest = checkDigest(mount);
    if (await registry.blobs.mount(name, from, digest)) return blobCreated(reply, name, digest);
  }
  const digest = query.get('digest');
  const algorithm = query.get('digest-algorithm');
  if (algorithm !== null && algorithm !== 'sha256') throw new DigestUnsupportedError(`${algorithm}:`);
  if (digest !== null) {
    checkDigest(digest);
    const id = await registry.uploads.start(name);
    await registry.uploads.finish(name, id, digest, chunkOf(req));
    return blobCreated(reply, name, digest);
  }
  const id = await registry.uploads.start(name);
  return uploadHeaders(reply.status(202), name, id, 0).send();
}

async function uploadRoute(
  registry: Registry,
  target: Extract<RegistryRoute, { kind: 'upload' }>,
  query: URLSearchParams,
  req: Req,
  reply: Reply,
): Promise<Reply> {
  const { name, id } = target;
  requireMethod(req, ['GET', 'PATCH', 'PUT', 'DELETE']);
  if (req.method === 'GET') {
    const size = await registry.uploads.status(name, id);
    return uploadHeaders(reply.status(204), name, id, size).removeHeader('content-length').send();
  }
  if (req.method === 'DELETE') {
    await registry.uploads.cancel(name, id);
    return reply.status(204).send();
  }
  if (req.method === 'PATCH') {
    const size = await registry.uploads.append(name, id, chunkOf(req));
    return uploadHeaders(reply.status(202), name, id, size).send();
  }
  const digest = query.get('digest');
  if (digest === null)
    throw new BlobUploadInvalidError('the closing PUT needs ?digest=<digest of the whole blob>');
  checkDigest(digest);
  await registry.uploads.finish(name, id, digest, hasBody(req) ? chunkOf(req) : undefined);
  return blobCreated(reply, name, digest);
}

async function tagsRoute(
  registry: Registry,
  name: string,
  query: URLSearchParams,
  req: Req,
  reply: Reply,
): Promise<Reply> {
  requireMethod(req, ['GET', 'HEAD']);
  const nText = query.get('n');
  const n = nText === null || nText === '' ? undefined : Number(nText);
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0))
    throw new PaginationInvalidError(`bad page size n=${nText}: use a whole number`);
  const last = query.get('last') ?? undefined;
  const page = registry.listTags(name, { ...(n !== undefined ? { n } : {}), ...(last ? { last } : {}) });
  if (page.next !== undefined) void reply.header('link', formatTagsLink(name, n, page.next));
  return reply.type('application/json').send({ name: page.name, tags: page.tags });
}

async function referrersRoute(
  registry: Registry,
  target: Extract<RegistryRoute, { kind: 'referrers' }>,
  query: URLSearchParams,
  req: Req,
  reply: Reply,
): Promise<Reply> {
  requireMethod(req, ['GET', 'HEAD']);
  const digest = checkDigest(target.digest);
  const artifactType = query.get('artifactType') ?? undefined;
  const index = registry.referrers(target.name, digest, artifactType);
  if (artifactType !== undefined) void reply.header('oci-filters-applied', 'artifactType');
  return reply.header('content-type', OCI_INDEX).send(Buffer.from(JSON.stringify(index)));
}
