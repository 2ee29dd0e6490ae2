/**
 * The agent's connection to a master over HTTP: SUBSCRIBE opens a long-lived RecordIO stream of events;
 * UPDATE and HEARTBEAT are separate POSTs carrying the `Berth-Agent-Stream-Id` header. The master is a
 * list of URLs; the link follows 307 redirects (a standby pointing at the leader) and tries the next URL
 * when one cannot be reached.
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { AgentCall } from '../api/agent.js';
import { decodeRecords } from '../api/recordio.js';
import type { AgentEvent } from '../api/agent.js';
import { describeError, UnavailableError } from '../core/errors.js';
import { readError } from '../sdk/http-errors.js';
import type { AgentFilesProvider, AgentStreamHandlers, MasterLink } from './master-link.js';

export const AGENT_STREAM_HEADER = 'berth-agent-stream-id';

export interface HttpMasterLinkOptions {
  masters: string[];
  token?: string;
}

export class HttpMasterLink implements MasterLink {
  private current = 0;
  private readonly aborts = new Set<AbortController>();

  constructor(private readonly options: HttpMasterLinkOptions) {
    if (options.masters.length === 0) throw new Error('at least one master URL is needed');
  }

  /** The master this link talks to now. */
  get master(): string {
    return this.options.masters[this.current % this.options.masters.length]!;
  }

  private headers(streamId?: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      ...(streamId ? { [AGENT_STREAM_HEADER]: streamId } : {}),
    };
  }

  /** POSTs to the current master, following a 307 to the leader; moves to the next master if unreachable. */
  private async post(
    body: string,
    streamId: string | undefined,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    let url = `${this.master}/api/v1/agent`;
    for (let hops = 0; hops < 5; hops++) {
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
        this.current++;
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

  async subscribe(
    call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
    handlers: AgentStreamHandlers,
    _files: AgentFilesProvider,
  ): Promise<{ streamId: string }> {
    const abort = new AbortController();
    this.aborts.add(abort);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.post(JSON.stringify(call), undefined, abort.signal);
    } catch (err) {
      this.aborts.delete(abort);
      throw err;
    }
    if (res.statusCode !== 200) {
      this.aborts.delete(abort);
      throw await readError(res);
    }
    const streamId = String(res.headers[AGENT_STREAM_HEADER] ?? '');
    void (async () => {
      let reason: string | undefined;
      try {
        for await (const event of decodeRecords<AgentEvent>(res.body as Readable)) handlers.onEvent(event);
      } catch (err) {
        reason = describeError(err);
      } finally {
        this.aborts.delete(abort);
        handlers.onClose(reason);
      }
    })();
    return { streamId };
  }

  async call(streamId: string, call: AgentCall): Promise<void> {
    const res = await this.post(JSON.stringify(call), streamId);
    if (res.statusCode >= 300) throw await readError(res);
    await res.body.dump();
  }

  close(): void {
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
  }
}
