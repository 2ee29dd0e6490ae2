/**
 * HTTP to one registry (OCI Distribution API, `/v2/`), on undici. Handles the auth dance: a 401 with
 * `WWW-Authenticate: Basic` is answered with the stored credentials; `Bearer realm=…,service=…,scope=…`
 * with a token from the realm (asked with the credentials, when there are some). The authorization is
 * kept for the client's later requests. HTTPS unless the registry is insecure (then plain HTTP).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BerthError } from '../../core/errors.js';
import { parseAuthChallenge, tokenUrl, type AuthChallenge } from './auth-challenge.js';
import type { Credentials } from './credentials.js';
import { RegistryAuthError, RegistryRequestError, RegistryUnreachableError } from './errors.js';

export interface RegistryClientOptions {
  /** "127.0.0.1:5000" */
  host: string;
  /** Plain HTTP instead of HTTPS. */
  insecure?: boolean;
  credentials?: Credentials;
  /** Token scopes asked for besides the challenge's, e.g. "repository:team/app:pull,push". */
  scopes?: string[];
  dispatcher?: Dispatcher;
}

export type Body = Buffer | string | Readable;

export interface SendOptions {
  headers?: Record<string, string>;
  /** A factory, so the body can be sent again after an auth challenge. */
  body?: () => Body;
  /** Follow 3xx redirects (blob downloads may be redirected to storage). */
  followRedirects?: boolean;
}

export type RegistryResponse = Dispatcher.ResponseData;

const TIMEOUTS = { headersTimeout: 60_000, bodyTimeout: 120_000 };
const MAX_REDIRECTS = 5;
const TLS_ERROR = /SSL|TLS|EPROTO|CERT/i;

export class RegistryClient {
  readonly base: URL;
  private authorization: string | undefined;

  constructor(private readonly options: RegistryClientOptions) {
    this.base = new URL(`${options.insecure ? 'http' : 'https'}://${options.host}/`);
  }

  get host(): string {
    return this.options.host;
  }

  /** An absolute URL for a path under the registry, or a Location it sent (which may be relative). */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, this.base);
  }

  /**
   * Sends a request; on a 401 authorizes once and sends it again. Any other status is returned for the
   * caller to judge (the body must then be consumed or dumped).
   */
  async send(
    method: Dispatcher.HttpMethod,
    path: string | URL,
    options: SendOptions = {},
  ): Promise<RegistryResponse> {
    const url = typeof path === 'string' ? this.url(path) : path;
    let res = await this.raw(method, url, options);
    if (res.statusCode === 401) {
      const challenge = parseAuthChallenge(res.headers['www-authenticate']);
      await res.body.dump();
      this.authorization = await this.authorize(challenge);
      res = await this.raw(method, url, options);
      if (res.statusCode === 401) {
        await res.body.dump();
        throw new RegistryAuthError(this.host, this.loginHint('the credentials were not accepted'));
      }
    }
    return res;
  }

  /** `send`, then a mapped error unless the status is one of `ok`. `what` names the request in errors. */
  async expect(
    method: Dispatcher.HttpMethod,
    path: string | URL,
    ok: readonly number[],
    what: string,
    options: SendOptions = {},
  ): Promise<RegistryResponse> {
    const res = await this.send(method, path, options);
    if (ok.includes(res.statusCode)) return res;
    throw await this.failure(res, what);
  }

  /** The error for an unexpected response (its body is read for the registry's error code). */
  async failure(res: RegistryResponse, what: string): Promise<BerthError> {
    const detail = await errorDetail(res);
    if (res.statusCode === 401 || res.statusCode === 403)
      return new RegistryAuthError(this.host, this.loginHint(detail || 'access denied'));
    return new RegistryRequestError(what, res.statusCode, detail);
  }

  /** GET /v2/: whether the registry answers (and accepts our credentials, when it asks for some). */
  async ping(): Promise<void> {
    const res = await this.expect('GET', '/v2/', [200], 'check (GET /v2/)');
    await res.body.dump();
  }

  private loginHint(detail: string): string {
    return this.options.credentials
      ? `${detail}; check the stored login with \`berth login ${this.host}\``
      : `${detail}; log in with \`berth login ${this.host}\``;
  }

  private async raw(
    method: Dispatcher.HttpMethod,
    start: URL,
    options: SendOptions,
  ): Promise<RegistryResponse> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const sameOrigin = url.origin === this.base.origin;
      const headers: Record<string, string> = { ...options.headers };
      if (sameOrigin && this.authorization) headers.authorization = this.authorization;
      const res = await this.dispatch(method, url, headers, options.body?.());
      const location = res.headers.location;
      if (
        !options.followRedirects ||
        res.statusCode < 300 ||
        res.statusCode > 399 ||
        typeof location !== 'string'
      )
        return res;
      await res.body.dump();
      if (hop >= MAX_REDIRECTS)
        throw new RegistryRequestError(`${method} ${start.pathname}`, res.statusCode, 'too many redirects');
      url = new URL(location, url);
    }
  }

  private async dispatch(
    method: Dispatcher.HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body: Body | undefined,
  ): Promise<RegistryResponse> {
    // undici loads on first use: the image module is imported by CLI commands that never reach a registry.
    const { request } = await import('undici');
    try {
      return await request(url, {
        method,
        headers: { 'user-agent': 'berth', ...headers },
        ...(body !== undefined ? { body } : {}),
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
        ...TIMEOUTS,
      });
    } catch (err) {
      if (err instanceof BerthError) throw err; // from a request body (e.g. a local blob found damaged)
      throw this.unreachable(err);
    }
  }

  private unreachable(err: unknown): RegistryUnreachableError {
    const e = err as { code?: string; message?: string };
    const text = `${e.code ?? ''} ${e.message ?? String(err)}`;
    if (TLS_ERROR.test(text)) {
      // OpenSSL's messages span lines; its reason ("wrong version number") is the part worth showing.
      const reason = /routines:[^:]*:([^:\n]+)/.exec(text)?.[1] ?? e.code ?? 'handshake failed';
      const hint = this.options.insecure
        ? ''
        : `; if it serves plain HTTP, use --insecure or add ${this.host} to BERTH_INSECURE_REGISTRIES`;
      return new RegistryUnreachableError(this.base.origin, `TLS failed (${reason})${hint}`, { cause: err });
    }
    const detail = (e.message ?? e.code ?? 'request failed').split('\n')[0] ?? '';
    return new RegistryUnreachableError(
      this.base.origin,
      `${detail}; check the host and port, and that the registry is running`,
      { cause: err },
    );
  }

  private async authorize(challenge: AuthChallenge | undefined): Promise<string> {
    const credentials = this.options.credentials;
    if (challenge?.scheme === 'basic') {
      if (!credentials) throw new RegistryAuthError(this.host, this.loginHint('it needs credentials'));
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm)
      return `Bearer ${await this.fetchToken(challenge)}`;
    throw new RegistryAuthError(this.host, this.loginHint('it answered 401 without a usable challenge'));
  }

  /** The token flow: GET realm?service=…&scope=… (with basic credentials when stored). */
  private async fetchToken(challenge: AuthChallenge): Promise<string> {
    let url: URL;
    try {
      url = tokenUrl(challenge, this.options.scopes ?? []);
    } catch {
      throw new RegistryAuthError(
        this.host,
        `its token realm "${challenge.params.realm ?? ''}" is not a URL`,
      );
    }
    const credentials = this.options.credentials;
    const headers: Record<string, string> = credentials
      ? {
          authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
        }
      : {};
    const res = await this.dispatch('GET', url, headers, undefined);
    if (res.statusCode !== 200) {
      const detail = await errorDetail(res);
      throw new RegistryAuthError(
        this.host,
        this.loginHint(`its token service answered HTTP ${res.statusCode}${detail ? ` (${detail})` : ''}`),
      );
    }
    const body = (await res.body.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '')
      throw new RegistryAuthError(this.host, 'its token service sent no token');
    return token;
  }
}

/** "MANIFEST_UNKNOWN: manifest unknown" from a Distribution error body, or the start of the text. */
async function errorDetail(res: RegistryResponse): Promise<string> {
  const text = (await res.body.text().catch(() => '')).slice(0, 2000);
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
  } catch {
    // not JSON: use the text
  }
  return text.trim().split('\n')[0]?.slice(0, 200) ?? '';
}

/** The first value of a response header. */
export function headerOf(res: RegistryResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
