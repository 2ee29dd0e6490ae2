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
}

export interface StreamHandlers<E> {
  onEvent(event: E): void;
  onClose(reason?: string): void;
}

const MAX_REDIRECTS = 5;

export class StreamClient {
  private current = 0;
  private readonly aborts = new Set<AbortController>();

  constructor(private readonly options: StreamClientOptions) {
    if (options.masters.length === 0) throw new Error('at least one master URL is needed');
  }

  /** The master this client talks to now. */
  get master(): string {
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

  private async post(
    body: string,
    streamId: string | undefined,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    let url = `${this.master}${this.options.path}`;
    for (let hops = 0; hops < MAX_REDIRECTS; hops++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: 'POST',
          headers: this.headers(streamId),
          body,
          signal,
          bodyTimeout: 0,
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        this.current++; // the next attempt goes to the next master
        throw new UnavailableError(`cannot reach the master at ${url}: ${describeError(err)}`, {
          cause: err,
        });
      }
      const location = res.headers.location;
      if (res.statusCode !== 307 || typeof location !== 'string') return res;
      await res.body.dump();
      url = new URL(location, url).toString();
    }
    throw new UnavailableError('too many redirects between masters');
  }

  async subscribe<E>(call: unknown, handlers: StreamHandlers<E>): Promise<{ streamId: string }> {
    const abort = new AbortController();
    this.aborts.add(abort);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.post(JSON.stringify(call), undefined, abort.signal);
      if (res.statusCode !== 200) throw await readError(res);
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
    const res = await this.post(JSON.stringify(call), streamId);
    if (res.statusCode >= 300) throw await readError(res);
    await res.body.dump();
  }

  close(): void {
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
  }
}
