/**
 * One holder at a time per key (a digest, an upload id). The registry runs in one process, so this is
 * what keeps garbage collection from deleting a blob file while an upload renames the same digest into
 * place, and two requests from appending to one upload at once.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of `key` is done; the key is free again when `fn` settles. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Whether someone holds or waits for `key`. */
  isHeld(key: string): boolean {
    return this.tails.has(key);
  }
}
