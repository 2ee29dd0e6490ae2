/**
 * A small in-memory registry for this module's tests: the part of the OCI Distribution API that pull
 * and push use, with Basic or Bearer auth, a request log, and switches to misbehave (serve damaged
 * blobs, announce a wrong manifest digest). The real peer, Debian's docker-registry, is used by
 * test/integration/pull-push.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256Digest } from '../digest.js';

export interface FakeRegistryOptions {
  auth?: { scheme: 'basic' | 'bearer'; username: string; password: string };
}

export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  /** Which repositories hold which blobs (a HEAD in another repository does not see them). */
  readonly repoBlobs = new Map<string, Set<string>>();
  /** "name" → tag or digest → { type, bytes } */
  readonly manifests = new Map<string, Map<string, { type: string; bytes: Buffer }>>();
  readonly log: string[] = [];
  readonly tokenScopes: string[] = [];
  /** Digests whose bytes are served damaged. */
  readonly corrupt = new Set<string>();
  /** A Docker-Content-Digest to announce instead of the true one. */
  lieAboutManifestDigest: string | undefined;
  private readonly uploads = new Map<string, Buffer>();
  private server: Server | undefined;
  private nextUpload = 0;
  host = '';

  constructor(private readonly options: FakeRegistryOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  putManifest(name: string, reference: string, type: string, bytes: Buffer): string {
    const digest = sha256Digest(bytes);
    const repo = this.manifests.get(name) ?? new Map<string, { type: string; bytes: Buffer }>();
    repo.set(reference, { type, bytes });
    repo.set(digest, { type, bytes });
    this.manifests.set(name, repo);
    return digest;
  }

  putBlob(name: string, bytes: Buffer): string {
    const digest = sha256Digest(bytes);
    this.blobs.set(digest, bytes);
    this.link(name, digest);
    return digest;
  }

  private link(name: string, digest: string): void {
    const set = this.repoBlobs.get(name) ?? new Set<string>();
    set.add(digest);
    this.repoBlobs.set(name, set);
  }

  count(pattern: RegExp): number {
    return this.log.filter((line) => pattern.test(line)).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const body = await readAll(req);
    if (url.pathname === '/token') return this.token(req, url, res);
    this.log.push(`${req.method} ${url.pathname}${url.search}`);
    if (!this.authorized(req)) return this.challenge(res);
    if (url.pathname === '/v2/') return send(res, 200, '{}');
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
    if (upload) return this.upload(req.method ?? '', upload[1] ?? '', upload[2] ?? '', url, body, res);
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(res, 404, errorBody('NAME_UNKNOWN'));
    const [, name = '', kind, ref = ''] = m;
    if (kind === 'blobs') return this.blob(req.method ?? '', name, ref, res);
    if (req.method === 'PUT') {
      const digest = this.putManifest(name, ref, String(req.headers['content-type']), body);
      res.setHeader('docker-content-digest', digest);
      return send(res, 201, '');
    }
    const found = this.manifests.get(name)?.get(ref);
    if (!found) return send(res, 404, errorBody('MANIFEST_UNKNOWN'));
    res.setHeader('content-type', found.type);
    res.setHeader('docker-content-digest', this.lieAboutManifestDigest ?? sha256Digest(found.bytes));
    return send(res, 200, req.method === 'HEAD' ? '' : found.bytes);
  }

  private blob(method: string, name: string, digest: string, res: ServerResponse): void {
    const bytes = this.repoBlobs.get(name)?.has(digest) ? this.blobs.get(digest) : undefined;
    if (!bytes) return send(res, 404, errorBody('BLOB_UNKNOWN'));
    res.setHeader('content-length', bytes.length);
    if (method === 'HEAD') return void res.end();
    const served = this.corrupt.has(digest)
      ? Buffer.from(bytes).fill(0x41, 0, Math.min(8, bytes.length))
      : bytes;
    res.end(served);
  }

  private upload(
    method: string,
    name: string,
    id: string,
    url: URL,
    body: Buffer,
    res: ServerResponse,
  ): void {
    if (method === 'POST') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from') ?? '';
      if (mount && this.repoBlobs.get(from)?.has(mount)) {
        this.link(name, mount);
        return send(res, 201, '');
      }
      const session = String(++this.nextUpload);
      this.uploads.set(session, Buffer.alloc(0));
      res.setHeader('location', `/v2/${name}/blobs/uploads/${session}?_state=x`);
      return send(res, 202, '');
    }
    const sofar = this.uploads.get(id);
    if (sofar === undefined) return send(res, 404, errorBody('BLOB_UPLOAD_UNKNOWN'));
    const data = Buffer.concat([sofar, body]);
    this.uploads.set(id, data);
    if (method === 'PATCH') {
      res.setHeader('location', `/v2/${name}/blobs/uploads/${id}?_state=y`);
      return send(res, 202, '');
    }
    const digest = url.searchParams.get('digest');
    if (digest !== sha256Digest(data)) return send(res, 400, errorBody('DIGEST_INVALID'));
    this.blobs.set(digest, data);
    this.link(name, digest);
    this.uploads.delete(id);
    return send(res, 201, '');
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = this.options.auth;
    if (!auth) return true;
    const header = req.headers.authorization ?? '';
    if (auth.scheme === 'basic') return header === basic(auth.username, auth.password);
    return header === 'Bearer good-token';
  }

  private challenge(res: ServerResponse): void {
    const auth = this.options.auth;
    res.setHeader(
      'www-authenticate',
      auth?.scheme === 'bearer'
        ? `Bearer realm="http://${this.host}/token",service="fake",scope="registry:catalog:*"`
        : 'Basic realm="fake"',
    );
    send(res, 401, errorBody('UNAUTHORIZED'));
  }

  private token(req: IncomingMessage, url: URL, res: ServerResponse): void {
    this.tokenScopes.push(...url.searchParams.getAll('scope'));
    const auth = this.options.auth;
    if (!auth || req.headers.authorization !== basic(auth.username, auth.password))
      return send(res, 401, errorBody('UNAUTHORIZED'));
    send(res, 200, JSON.stringify({ access_token: 'good-token' }));
  }
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function errorBody(code: string): string {
  return JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] });
}

function send(res: ServerResponse, status: number, body: string | Buffer): void {
  res.statusCode = status;
  res.end(body);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
