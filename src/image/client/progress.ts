/**
 * Progress of a pull or push, as plain records: the server sends them to the CLI (RecordIO), the CLI
 * draws them (`progress-reporter.ts`). One record per blob state change, and byte counts while a blob
 * moves, at most every `intervalMs`.
 */

export type TransferAction =
  /** Already where it has to be (in the local store, or in the target repository). */
  | 'exists'
  /** Pushed by a cross-repository mount: the registry copied it from another repository. */
  | 'mounted'
  /** Bytes are moving; `current` of `total`. */
  | 'pulling'
  | 'pushing'
  /** The whole blob arrived and was verified (pull), or was accepted by the registry (push). */
  | 'done';

export interface TransferProgress {
  digest: string;
  kind: 'config' | 'layer' | 'manifest';
  action: TransferAction;
  current: number;
  total: number;
  /** For `mounted`: the repository it came from. */
  from?: string;
}

export type ProgressListener = (progress: TransferProgress) => void;

/** Wraps a body so that its byte count is reported (throttled) and it fails past `limit` bytes. */
export async function* countBytes(
  source: AsyncIterable<Uint8Array>,
  options: { limit: number; onBytes: (count: number) => void; onOverflow: () => Error; intervalMs?: number },
): AsyncGenerator<Uint8Array> {
  const interval = options.intervalMs ?? 200;
  let count = 0;
  let last = 0;
  for await (const chunk of source) {
    count += chunk.length;
    if (count > options.limit) throw options.onOverflow();
    const now = Date.now();
    if (now - last >= interval) {
      last = now;
      options.onBytes(count);
    }
    yield chunk;
  }
}

/** Runs `work` over `items` with at most `limit` at a time; rejects with the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
