import { readFile } from 'node:fs/promises';
import { emptyIndex, type OciIndex } from './oci.js';
import { errnoCode, writeFileAtomic } from '../core/fs.js';

/**
 * The `index.json` of the layout. Reads see the last complete write (writes are atomic); writers in
 * this process are serialized through one promise chain, so two tags written at once both land.
 */
export class ImageIndex {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  async read(): Promise<OciIndex> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return emptyIndex();
      throw err;
    }
    const parsed = JSON.parse(text) as Partial<OciIndex>;
    return { ...emptyIndex(), ...parsed, manifests: parsed.manifests ?? [] };
  }

  /** Applies `change` to the current index and writes the result; returns what was written. */
  update(change: (index: OciIndex) => OciIndex): Promise<OciIndex> {
    const run = this.chain.then(async () => {
      const next = change(await this.read());
      await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
      return next;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
