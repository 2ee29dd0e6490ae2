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
