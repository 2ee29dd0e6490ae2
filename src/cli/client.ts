/**
 * The CLI's HTTP client for the master and the frameworks it hosts, on `node:http` alone so that a CLI
 * command starts fast. Errors come back as RemoteError with the server's code; a master that cannot be
 * reached becomes one line that says how to start one.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { decodeRecords } from '../api/recordio.js';
import { BerthError, RemoteError } from '../core/errors.js';

export class MasterUnreachableError extends BerthError {
  readonly code = 'ERR_MASTER_UNAVAILABLE';
  constructor(url: string, cause: unknown) {
    super(
      `cannot reach the berth master at ${url}: start one with \`berth up\`, or point --master / BERTH_MASTER at a running one`,
      { cause },
    );
  }
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function toError(res: IncomingMessage): Promise<RemoteError> {
  const status = res.statusCode ?? 0;
  const text = await readBody(res).catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    return new RemoteError(body.code ?? `ERR_HTTP_${status}`, body.message ?? text, status);
  } catch {
    return new RemoteError(`ERR_HTTP_${status}`, text || `HTTP ${status}`, status);
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class ApiClient {
  constructor(
    readonly master: string,
    private readonly token?: string,
  ) {}

  /**
   * One request; resolves with the response once its status is below 300. A standby master answers with
   * a 307 to the leader: followed (same method and body) up to three times, except for a streamed body,
   * which cannot be sent twice.
   */
  async open(
    method: Method,
    path: string,
    options: { body?: string | Readable; contentType?: string; signal?: AbortSignal } = {},
    hops = 0,
  ): Promise<IncomingMessage> {
    const { body, contentType, signal } = options;
    const url = new URL(path, this.master);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      ...(contentType ? { 'content-type': contentType } : {}),
    };
    // node:http loads on first use, and node:https (with TLS) only for an https master.
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method, headers, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(err.code && CONNECT_ERRORS.has(err.code) ? new MasterUnreachableError(this.master, err) : err),
      );
      if (body === undefined || typeof body === 'string') req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
    return this.settle(res, method, url, options, hops);
  }

  /** A response below 300 as it is; a 307/308 followed (not for a streamed body); else a RemoteError. */
  private async settle(
    res: IncomingMessage,
    method: Method,
    url: URL,
    options: { body?: string | Readable; contentType?: string; signal?: AbortSignal },
    hops: number,
  ): Promise<IncomingMessage> {
    const status = res.statusCode ?? 500;
    const location = res.headers.location;
    if ((status === 307 || status === 308) && location && hops < 3 && typeof options.body !== 'object') {
      res.resume();
      return this.open(method, new URL(location, url).href, options, hops + 1);
    }
    if (status < 300) return res;
    throw await toError(res);
  }

  /** A JSON call: `body` (when given) is sent as JSON, and the answer parsed (`{}` when empty). */
  async call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const res = await this.open(
      method,
      path,
      body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' },
    );
    const text = await readBody(res);
    return (text ? JSON.parse(text) : {}) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  async upload<T>(path: string, stream: Readable, contentType: string): Promise<T> {
    return JSON.parse(await readBody(await this.open('POST', path, { body: stream, contentType }))) as T;
  }

  /** Opens a RecordIO stream (`GET`), e.g. a task's output. */
  async *records<T>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.open('GET', path);
    signal?.addEventListener('abort', () => res.destroy());
    yield* decodeRecords<T>(res);
  }
}
