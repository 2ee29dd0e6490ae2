/**
 * Sends a file, or a byte range of it, as a response body from a small pool of reused 1 MiB buffers.
 * A read stream allocates a fresh buffer for every chunk; at registry speeds that garbage cost about half
 * the serving time (measured on a 200 MB blob: 200 ms through a read stream in the registry process,
 * 110 ms pooled, beside 100 ms for Distribution's sendfile). Each buffer goes back to the pool only once
 * the socket has taken its bytes (the write callback), so a buffer is never overwritten while queued.
 */
import type { FileHandle } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';

const CHUNK = 1024 * 1024;
const IN_FLIGHT = 4;
const POOL_MAX = 32;
const pool: Buffer[] = [];

export interface ByteSpan {
  start: number;
  /** Inclusive, as in HTTP ranges. */
  end: number;
}

/**
 * Takes over the reply (headers already set on it are sent as they are) and writes `span` of `file`
 * (the whole file when absent, `size` bytes). Closes the file. A client that goes away stops the reads.
 */
export async function sendFileBody(
  reply: FastifyReply,
  file: FileHandle,
  size: number,
  span?: ByteSpan,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const buffers: Buffer[] = [];
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string | number | string[]>);
    let position = span?.start ?? 0;
    const end = span ? span.end + 1 : size;
    const free: Buffer[] = [];
    for (let i = 0; i < IN_FLIGHT; i++) free.push(pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK));
    buffers.push(...free);
    let wake: (() => void) | undefined;
    const release = (buffer: Buffer): void => {
      free.push(buffer);
      const w = wake;
      wake = undefined;
      w?.();
    };
    const closed = (): boolean => res.destroyed || res.writableEnded;
    res.once('close', () => wake?.());
    while (position < end && !closed()) {
      if (free.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const buffer = free.pop()!;
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, end - position), position);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${position} of ${end}`);
      position += bytesRead;
      res.write(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead), () => release(buffer));
    }
    if (!closed()) await new Promise<void>((resolve) => res.end(resolve));
  } catch (err) {
    res.destroy(err as Error);
  } finally {
    await file.close().catch(() => undefined);
    // Buffers still queued on a destroyed socket are dropped, not pooled: they may yet be read from.
    if (res.writableFinished) for (const b of buffers) if (pool.length < POOL_MAX) pool.push(b);
  }
}
