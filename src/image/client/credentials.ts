/**
 * Stored registry credentials: `<BERTH_HOME or ~/.berth>/auth.json`, mode 0600, in the shape of Docker's
 * config.json (`{"auths":{"host:port":{"auth":"base64(user:pass)"}}}`), so the file reads the same to
 * anyone who knows Docker's. Keys berth does not know are kept as they are.
 */
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { errnoCode, randomName } from '../../core/fs.js';

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** The credentials file of this user: `$BERTH_HOME/auth.json`, else `~/.berth/auth.json`. */
export function defaultCredentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolve(env.BERTH_HOME ?? join(homedir(), '.berth')), 'auth.json');
}

export function encodeAuth(credentials: Credentials): string {
  return Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
}

export function decodeAuth(auth: string): Credentials | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export class CredentialStore {
  constructor(readonly file: string = defaultCredentialsFile()) {}

  async get(host: string): Promise<Credentials | undefined> {
    const auth = (await this.read()).auths?.[host]?.auth;
    return auth === undefined ? undefined : decodeAuth(auth);
  }

  async set(host: string, credentials: Credentials): Promise<void> {
    const data = await this.read();
    data.auths = { ...data.auths, [host]: { ...data.auths?.[host], auth: encodeAuth(credentials) } };
    await this.write(data);
  }

  /** Forgets the host's credentials; false when none were stored. */
  async remove(host: string): Promise<boolean> {
    const data = await this.read();
    if (data.auths?.[host] === undefined) return false;
    const auths = { ...data.auths };
    delete auths[host];
    data.auths = auths;
    await this.write(data);
    return true;
  }

  private async read(): Promise<AuthFile> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as AuthFile) : {};
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return {};
      throw err;
    }
  }

  /** Written to a 0600 temporary file and renamed, so the secret is never readable by others. */
  private async write(data: AuthFile): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp-${randomName()}`;
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(tmp, 0o600);
      await rename(tmp, this.file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
