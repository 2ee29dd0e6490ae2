import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A sortable id: a millisecond timestamp and 40 random bits in Crockford base32, lower case, 18
 * characters. Sorting ids sorts by creation time, which is what `ps` and the stores want.
 */
export function newId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(5);
  let rand = '';
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  for (let i = 0; i < 8; i++) {
    rand = ALPHABET[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/** Ids that users type: the first 12 characters are enough on any realistic cluster. */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(-12) : id;
}

/** Names users give (tasks, frameworks): DNS-label-like, so they can also be hostnames. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
