/**
 * Basic authentication against an htpasswd file. Supported hashes: bcrypt (`$2y$`/`$2b$`/`$2a$`,
 * `htpasswd -B`, the only kind Docker's registry accepts; checked with bcryptjs), `{SHA}` (base64 SHA-1,
 * `htpasswd -s`), `$apr1$` (Apache MD5, `htpasswd -m`) and `{PLAIN}` (clear text, for tests). Any other
 * line (crypt(3), a typo) is refused when the file is loaded, with its line number.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { readFileSync } from 'node:fs';
import { HtpasswdError } from './errors.js';

export type HtpasswdEntries = ReadonlyMap<string, string>;

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const SUPPORTED = /^(\{SHA\}|\$apr1\$|\{PLAIN\})/;

/** Parses `user:hash` lines (blank lines and `#` comments skipped); refuses hashes it cannot verify. */
export function parseHtpasswd(text: string, source = 'htpasswd'): HtpasswdEntries {
  const entries = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(`${source} line ${i + 1}: expected "user:hash"`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!SUPPORTED.test(hash) && !BCRYPT.test(hash))
      throw new HtpasswdError(
        `${source} line ${i + 1} (user "${user}"): unsupported hash; use bcrypt (htpasswd -B), {SHA} (htpasswd -s), $apr1$ (htpasswd -m) or {PLAIN}`,
      );
    entries.set(user, hash);
  });
  return entries;
}

export function loadHtpasswd(path: string): HtpasswdEntries {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HtpasswdError(`cannot read the htpasswd file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseHtpasswd(text, path);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(value: number, count: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < count; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** Apache's MD5-crypt (`$apr1$salt$hash`), as in apr_md5.c. */
export function apr1Hash(password: string, salt: string): string {
  const pw = Buffer.from(password);
  const s = Buffer.from(salt.slice(0, 8));
  const magic = Buffer.from('$apr1$');
  let alt = createHash('md5').update(pw).update(s).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic).update(s);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  for (let i = pw.length; i > 0; i >>= 1) ctx.update(i & 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const round = createHash('md5');
    round.update(i & 1 ? pw : final);
    if (i % 3) round.update(s);
    if (i % 7) round.update(pw);
    round.update(i & 1 ? final : pw);
    final = round.digest();
  }
  alt = final;
  const b = (i: number): number => alt[i]!;
  const encoded =
    to64((b(0) << 16) | (b(6) << 8) | b(12), 4) +
    to64((b(1) << 16) | (b(7) << 8) | b(13), 4) +
    to64((b(2) << 16) | (b(8) << 8) | b(14), 4) +
    to64((b(3) << 16) | (b(9) << 8) | b(15), 4) +
    to64((b(4) << 16) | (b(10) << 8) | b(5), 4) +
    to64(b(11), 2);
  return `$apr1$${salt.slice(0, 8)}$${encoded}`;
}

/** Whether `password` matches an htpasswd hash of a supported kind. */
export function verifyHtpasswdPassword(hash: string, password: string): boolean {
  if (hash.startsWith('{SHA}'))
    return sameText(hash, `{SHA}${createHash('sha1').update(password).digest('base64')}`);
  if (hash.startsWith('{PLAIN}')) return sameText(hash.slice(7), password);
  if (BCRYPT.test(hash)) return bcrypt.compareSync(password, hash);
  if (hash.startsWith('$apr1$')) {
    const salt = hash.slice(6).split('$')[0] ?? '';
    return sameText(hash, apr1Hash(password, salt));
  }
  return false;
}

/** Checks `Authorization: Basic …` headers; accepted headers are remembered for a while (hashes are slow on purpose). */
export class BasicAuth {
  private readonly accepted = new Map<string, number>();

  constructor(
    private readonly entries: HtpasswdEntries,
    private readonly now: () => number = Date.now,
    private readonly rememberMs = 5 * 60 * 1000,
  ) {}

  /** The user, or undefined when the header is missing or wrong. */
  check(authorization: string | undefined): string | undefined {
    if (!authorization?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    const user = decoded.slice(0, colon);
    const key = createHash('sha256').update(authorization).digest('base64');
    const until = this.accepted.get(key);
    if (until !== undefined && until > this.now() && this.entries.has(user)) return user;
    const hash = this.entries.get(user);
    if (hash === undefined || !verifyHtpasswdPassword(hash, decoded.slice(colon + 1))) return undefined;
    if (this.accepted.size >= 1000) this.accepted.clear();
    this.accepted.set(key, this.now() + this.rememberMs);
    return user;
  }
}
