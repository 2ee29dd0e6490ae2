import { InvalidStoreValueError } from './errors.js';

/** Serializes a value for storage. The stored form is JSON; what reads return is its parse. */
export function encodeValue(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidStoreValueError(key, 'it cannot be serialized as JSON', { cause: err });
  }
  if (text === undefined) throw new InvalidStoreValueError(key, `a ${typeof value} is not a JSON value`);
  return text;
}

/** Parses a stored value and freezes it all the way down. */
export function decodeValue<T>(text: string): T {
  return deepFreeze(JSON.parse(text) as T);
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * A stored value that is parsed (and frozen) on first read: most writes are checkpoints that are never
 * read back by this process, so a store keeps the text and pays for the parse only when asked.
 */
export function lazyValue(text: string): () => unknown {
  let decoded = false;
  let value: unknown;
  return () => {
    if (!decoded) {
      value = decodeValue(text);
      decoded = true;
    }
    return value;
  };
}

/** A frozen stored entry whose `value` is parsed from `text` on first read. */
export function lazyEntry(key: string, revision: number, text: string): Readonly<StoreEntryLike> {
  const read = lazyValue(text);
  return Object.freeze({
    key,
    get value() {
      return read();
    },
    revision,
  });
}

/** A frozen put event whose `value` is parsed from `text` on first read. */
export function lazyPutEvent(key: string, revision: number, text: string): Readonly<PutEventLike> {
  const read = lazyValue(text);
  return Object.freeze({
    type: 'put' as const,
    key,
    get value() {
      return read();
    },
    revision,
  });
}

interface StoreEntryLike {
  key: string;
  value: unknown;
  revision: number;
}

interface PutEventLike extends StoreEntryLike {
  type: 'put';
}
