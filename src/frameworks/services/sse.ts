/**
 * Server-sent events (the `text/event-stream` format) both ways: `openEventStream` serves them on a
 * hijacked fastify response, `readEventStream` parses them from a response body for the CLI.
 */
import type { FastifyReply } from 'fastify';

export interface ServerSentEvent {
  event: string;
  data: string;
}

export interface EventStream {
  /** Writes one event; `data` may span several lines. Ignored once closed. */
  send(event: string, data: string): void;
  /** A comment line: keeps proxies and idle timers from cutting a quiet stream. */
  ping(): void;
  close(): void;
  readonly closed: boolean;
  /** Aborted when the stream ends, from either side. */
  readonly signal: AbortSignal;
}

/** Encodes one event; a `data` line per line of the payload, and a blank line to end it. */
export function encodeEvent(event: string, data: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`);
  return `event: ${event.replace(/[\r\n]/g, ' ')}\n${lines.join('')}\n`;
}

/** Takes over the response and keeps it open as an event stream until `close()` or the client leaves. */
export function openEventStream(reply: FastifyReply, pingMs = 15_000): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const abort = new AbortController();
  const timer = setInterval(() => write(': ping\n\n'), pingMs);
  timer.unref();
  const finish = (): void => {
    clearInterval(timer);
    abort.abort();
  };
  raw.on('close', finish);
  const writable = (): boolean => !raw.writableEnded && !raw.destroyed;
  function write(text: string): void {
    if (writable()) raw.write(text);
  }
  return {
    send: (event, data) => write(encodeEvent(event, data)),
    ping: () => write(': ping\n\n'),
    close() {
      finish();
      if (writable()) raw.end();
    },
    get closed() {
      return !writable();
    },
    signal: abort.signal,
  };
}

/** Parses an event stream. Comments and `id:`/`retry:` fields are skipped; an event needs a `data` field. */
export async function* readEventStream(
  body: AsyncIterable<Buffer | string>,
): AsyncGenerator<ServerSentEvent> {
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (let nl = buffer.search(/\r\n|\r|\n/); nl >= 0; nl = buffer.search(/\r\n|\r|\n/)) {
      // A lone '\r' at the end of the buffer may be the first half of '\r\n': wait for more.
      if (buffer[nl] === '\r' && nl === buffer.length - 1) break;
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
}
