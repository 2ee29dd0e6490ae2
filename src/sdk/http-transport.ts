/**
 * The scheduler API over HTTP: SUBSCRIBE opens a long-lived response of RecordIO events; other calls
 * are separate POSTs carrying the `Mesos-Stream-Id` header and answered with 202.
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { decodeRecords } from '../api/recordio.js';
import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import { describeError } from '../core/errors.js';
import { readError } from './http-errors.js';
import type { SchedulerStreamHandlers, SchedulerTransport } from './transport.js';

export interface HttpTransportOptions {
  master: string;
  token?: string;
}

export class HttpSchedulerTransport implements SchedulerTransport {
  private readonly aborts = new Set<AbortController>();

  constructor(private readonly options: HttpTransportOptions) {}

  private headers(streamId?: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'application/recordio',
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      ...(streamId ? { 'mesos-stream-id': streamId } : {}),
    };
  }

  async subscribe(call: SchedulerCall, handlers: SchedulerStreamHandlers): Promise<{ streamId: string }> {
    const abort = new AbortController();
    this.aborts.add(abort);
    const res = await request(new URL('/api/v1/scheduler', this.options.master), {
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify(call),
      signal: abort.signal,
      bodyTimeout: 0,
    });
    if (res.statusCode !== 200) {
      this.aborts.delete(abort);
      throw await readError(res);
    }
    const streamId = String(res.headers['mesos-stream-id'] ?? '');
    void (async () => {
      let reason: string | undefined;
      try {
        for await (const event of decodeRecords<SchedulerEvent>(res.body as Readable))
          handlers.onEvent(event);
      } catch (err) {
        reason = describeError(err);
      } finally {
        this.aborts.delete(abort);
        handlers.onClose(reason);
      }
    })();
    return { streamId };
  }

  async call(streamId: string, call: SchedulerCall): Promise<void> {
    const res = await request(new URL('/api/v1/scheduler', this.options.master), {
      method: 'POST',
      headers: this.headers(streamId),
      body: JSON.stringify(call),
    });
    if (res.statusCode >= 300) throw await readError(res);
    await res.body.dump();
  }

  close(): void {
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
  }
}
