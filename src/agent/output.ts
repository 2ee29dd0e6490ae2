/**
 * Reads a task's `stdout` and `stderr` files from the sandbox, and with `follow` keeps reading as they
 * grow until the task has ended and both files are drained. Open file handles keep working if the
 * sandbox is removed meanwhile.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface FollowOptions {
  sandbox: string;
  follow: boolean;
  signal?: AbortSignal;
  /** True once the task has exited: its output will not grow any more. */
  ended: () => boolean;
  /** Resolves when the task ends or after `ms`, whichever is first. */
  changed: (ms: number) => Promise<void>;
  pollMs?: number;
}

const CHUNK = 64 * 1024;

class TailedFile {
  private handle: FileHandle | undefined;
  private offset = 0;

  constructor(
    readonly stream: 'stdout' | 'stderr',
    private readonly path: string,
  ) {}

  async *drain(): AsyncGenerator<OutputChunk> {
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await this.handle.read(buffer, 0, CHUNK, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      yield { stream: this.stream, data: buffer.subarray(0, bytesRead) };
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

export async function* followOutput(options: FollowOptions): AsyncGenerator<OutputChunk> {
  const files = [
    new TailedFile('stdout', join(options.sandbox, 'stdout')),
    new TailedFile('stderr', join(options.sandbox, 'stderr')),
  ];
  try {
    for (;;) {
      const ended = options.ended();
      for (const file of files) yield* file.drain();
      if (ended || !options.follow || options.signal?.aborted) return;
      await options.changed(options.pollMs ?? 50);
    }
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
}
