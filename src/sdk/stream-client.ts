/**
 * The HTTP side of berth's streaming APIs (the scheduler API, the agent protocol): a SUBSCRIBE call opens
 * a long-lived response of RecordIO events and names a stream id in a header; later calls are POSTs that
 * carry that header. The client knows a list of masters: it follows a 307 from a standby to the leader,
 * and moves on to the next master when one cannot be reached.
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { decodeRecords } from '../api/recordio.js';
import { describeError, UnavailableError } from '../core/errors.js';
import { readError } from './http-errors.js';

export interface StreamClientOptions {
  masters: string[];
  /** e.g. `/api/v1/scheduler` */
  path: string;
  /** The response header naming the stream, sent back on every later call (lower case). */
  streamHeader: string;
  token?: string;
  /**
   * With several masters: how long one call keeps trying them (an election takes a few seconds) before
   * it fails with UnavailableError (default 15 s). With one master a call fails at once.
   */
  failoverWaitMs?: number;
  /**
   * A master that sends no response headers within this time is taken as gone (a frozen process accepts
   * connections but never answers), and the call goes to the next master. Default with several masters:
   * 5 s (a standby holds a call at most 4 s during an election); with one master, undici's default.
   */
  callTimeoutMs?: number;
  /** The undici dispatcher for the long-lived SUBSCRIBE streams (default: undici's global one). */
  streamDispatcher?: Dispatcher;
  /** The undici dispatcher for the short calls on a stream (default: undici's global one). */
  callDispatcher?: Dispatcher;
}

export interface StreamHandlers<E> {
  onEvent(event: E): void;
  onClose(reason?: string): void;
}

const MAX_REDIRECTS = 5;

interface Answer {
  res: Dispatcher.ResponseData;
  /** The master that answered (after redirects). */
  origin: string;
}
/** The pause after every master of the list was tried once without an answer. */
const ROUND_PAUSE_MS = 200;

export class StreamClient {
  private current = 0;
  /** Where the last call was answered (after redirects): the leader, as far as this client knows. */
  private leader: string | undefined;
  /** The open SUBSCRIBE streams, and the master (origin) each is open on. */
  private readonly aborts = new Map<AbortController, string>();

  constructor(private readonly options: StreamClientOptions) {
    if (options.masters.length === 0) throw new Error('at least one master URL is needed');
  }

  private get headersTimeout(): number | undefined {
    return this.options.callTimeoutMs ?? (this.options.masters.length > 1 ? 5000 : undefined);
  }

  /** The master this client talks to now. */
  get master(): string {
    return this.leader ?? this.listed;
  }

  private get listed(): string {
    return this.options.masters[this.current % this.options.masters.length]!.replace(/\/+$/, '');
  }

  private headers(streamId?: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'application/recordio, application/json',
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      ...(streamId ? { [this.options.streamHeader]: streamId } : {}),
    };
  }

  /**
   * Posts to the leader: follows 307s from standbys; with several masters, a master that cannot be
   * reached (or a standby that knows no leader yet, 503) makes the call try the next one, round after
   * round, until `failoverWaitMs` has passed.
   */
  private async post(
    body: string,
    streamId: string | undefined,
    signal?: AbortSignal,
    dispatcher?: Dispatcher,
  ): Promise<Answer> {
    const count = this.options.masters.length;
    const deadline = Date.now() + (count > 1 ? (this.options.failoverWaitMs ?? 15_000) : 0);
    for (let attempt = 1; ; attempt++) {
      const target = this.master;
      try {
        const answer = await this.postFollowing(target, body, streamId, signal, dispatcher);
        if (answer.res.statusCode !== 503 || count === 1) return answer;
        const error = await readError(answer.res);
        throw new UnavailableError(`no leader master: ${error.message}`, { cause: error });
      } catch (err) {
        if (signal?.aborted || !(err instanceof UnavailableError)) throw err;
        // The next attempt goes to the next master, unless another call has moved on already.
        if (this.master === target) {
          if (this.leader === undefined) this.current++;
          this.leader = undefined;
        }
        // Every master gets one try, even when a frozen one used up the time.
        if (Date.now() >= deadline && attempt >= count) throw err;
        if (attempt % count === 0) await pause(ROUND_PAUSE_MS, signal);
      }
    }
  }

  private async postFollowing(
    start: string,
    body: string,
    streamId: string | undefined,
    signal?: AbortSignal,
    dispatcher?: Dispatcher,
  ): Promise<Answer> {
    let url = `${start}${this.options.path}`;
    for (let hops = 0; hops < MAX_REDIRECTS; hops++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: 'POST',
          headers: this.headers(streamId),
          body,
          signal,
          bodyTimeout: 0,
          ...(this.headersTimeout ? { headersTimeout: this.headersTimeout } : {}),
          ...(dispatcher ? { dispatcher } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        throw new UnavailableError(`cannot reach the master at ${url}: ${describeError(err)}`, {
          cause: err,
        });
      }
      const location = res.headers.location;
      if (res.statusCode !== 307 || typeof location !== 'string') {
        const origin = new URL(url).origin;
        if (hops > 0 && res.statusCode < 500) this.leader = origin;
        return { res, origin };
      }
      await res.body.dump();
      url = new URL(location, url).toString();
    }
    throw new UnavailableError('too many redirects between masters');
  }

  async subscribe<E>(call: unknown, handlers: StreamHandlers<E>): Promise<{ streamId: string }> {
    const abort = new AbortController();
    this.aborts.set(abort, '');
    let res: Dispatcher.ResponseData;
    try {
      const answer = await this.post(
        JSON.stringify(call),
        undefined,
        abort.signal,
        this.options.streamDispatcher,
      );
      res = answer.res;
      if (res.statusCode !== 200) throw await readError(res);
      this.aborts.set(abort, answer.origin);
    } catch (err) {
      this.aborts.delete(abort);
      throw err;
    }
    const streamId = String(res.headers[this.options.streamHeader] ?? '');
    void (async () => {
      let reason: string | undefined;
      try {
        for await (const event of decodeRecords<E>(res.body as Readable)) handlers.onEvent(event);
      } catch (err) {
        reason = describeError(err);
      } finally {
        this.aborts.delete(abort);
        handlers.onClose(reason);
      }
    })();
    return { streamId };
  }

  async call(streamId: string, call: unknown): Promise<void> {
    const { res, origin } = await this.post(
      JSON.stringify(call),
      streamId,
      undefined,
      this.options.callDispatcher,
    );
    // The call reached another master than the streams: they hang on a master that no longer leads
    // (frozen, or cut off), so they are dropped, and their owners subscribe again — to the leader.
    for (const [abort, on] of this.aborts) if (on !== '' && on !== origin) abort.abort();
    if (res.statusCode >= 300) throw await readError(res);
    await res.body.dump();
  }

  close(): void {
    for (const abort of this.aborts.keys()) abort.abort();
    this.aborts.clear();
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}
