/**
 * Where blobs are known to live in registries: `registry-sources.json` in the image store,
 * `{ "<digest>": ["127.0.0.1:5000/team/app", …] }`, written after each pull and push. A push asks it
 * for another repository on the same registry to mount a missing blob from instead of uploading it.
 * It is a hint: a wrong entry costs one failed mount, then a normal upload.
 */
import { readFile } from 'node:fs/promises';
import { errnoCode, writeFileAtomic } from '../../core/fs.js';

type Sources = Record<string, string[]>;

const MAX_REPOS_PER_BLOB = 8;

export class BlobSources {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  /** A repository (name only, without the host) on `host`, other than `except`, that holds the blob. */
  async mountSource(digest: string, host: string, except: string): Promise<string | undefined> {
    const prefix = `${host}/`;
    const repos = (await this.read())[digest] ?? [];
    const found = repos.find((r) => r.startsWith(prefix) && r.slice(prefix.length) !== except);
    return found?.slice(prefix.length);
  }

  /** Records that `host/name` holds each of the digests (most recent first). */
  record(digests: readonly string[], host: string, name: string): Promise<void> {
    const repo = `${host}/${name}`;
    const run = this.chain.then(async () => {
      const sources = await this.read();
      for (const digest of digests) {
        const others = (sources[digest] ?? []).filter((r) => r !== repo);
        sources[digest] = [repo, ...others].slice(0, MAX_REPOS_PER_BLOB);
      }
      await writeFileAtomic(this.file, `${JSON.stringify(sources)}\n`);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async read(): Promise<Sources> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Sources) : {};
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) return {};
      throw err;
    }
  }
}
