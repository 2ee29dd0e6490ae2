/**
 * The CLI's HTTP client for the master and the frameworks it hosts. Errors come back as RemoteError
 * with the server's code; a master that cannot be reached becomes one line that says how to start one.
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { decodeRecords } from '../api/recordio.js';
import { BerthError } from '../core/errors.js';
import { readError } from '../sdk/http-errors.js';

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
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'EAI_AGAIN',
]);

export class ApiClient {
  constructor(
    readonly master: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    stream?: Readable,
  ) {
    try {
      const res = await request(this.master + path, {
        method,
        headers: this.headers(
          body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
        ),
        body: stream ?? (body !== undefined ? JSON.stringify(body) : undefined),
        bodyTimeout: 0,
        headersTimeout: 0,
      });
      if (res.statusCode >= 300) throw await readError(res);
      return res;
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
      if (code && CONNECT_ERRORS.has(code)) throw new MasterUnreachableError(this.master, err);
      throw err;
    }
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.send('GET', path);
    return (await res.body.json()) as T;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    const res = await this.send('POST', path, body);
    const text = await res.body.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  async upload<T>(path: string, stream: Readable, contentType: string): Promise<T> {
    const res = await this.send('POST', path, undefined, { 'content-type': contentType }, stream);
    return (await res.body.json()) as T;
  }

  /** Opens a RecordIO stream (`GET`), e.g. a task's output. */
  async *records<T>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.send('GET', path);
    signal?.addEventListener('abort', () => res.body.destroy());
    yield* decodeRecords<T>(res.body as Readable);
  }
}
