/** Helpers for this module's tests: temporary directories and tar archives built in memory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { TarHeader } from './tar-entries.js';

export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

export async function makeTempDir(prefix = 'berth-image-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface TarFixtureEntry extends TarHeader {
  body?: string;
}

/** A tar archive of the given entries (plain, or gzip with `gzip: true`). */
export async function buildTar(
  entries: TarFixtureEntry[],
  options: { gzip?: boolean } = {},
): Promise<Buffer> {
  const pack = tar.pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body !== undefined) pack.entry({ type: 'file', ...header }, body, done);
      else pack.entry({ type: 'directory', ...header }, done);
    });
  }
  pack.finalize();
  const bytes = await collected;
  return options.gzip ? gzipSync(bytes) : bytes;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
