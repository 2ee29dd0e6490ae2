import { BadLayerError } from './errors.js';

/**
 * The normal form of a tar entry name: no leading "./", no "." or empty components, no trailing
 * "/"; "" is the root. A ".." component is always refused. A leading "/" is stripped when
 * `allowAbsolute` (importing a user's tar, as GNU tar does) and refused otherwise (layers).
 */
export function normalizeEntryPath(name: string, options: { allowAbsolute: boolean }): string {
  if (name.includes('\0'))
    throw new BadLayerError(`tar entry ${JSON.stringify(name)} has a NUL byte in its name`, name);
  if (name.startsWith('/') && !options.allowAbsolute) {
    throw new BadLayerError(`tar entry "${name}" has an absolute path; layer paths must be relative`, name);
  }
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new BadLayerError(
      `tar entry "${name}" has a ".." component and could write outside the image`,
      name,
    );
  }
  return parts.join('/');
}

/** The proper ancestors of a normalized path, outermost first: "a/b/c" → ["a", "a/b"]. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

export function baseNameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Linux's encoding of a device number (glibc's gnu_dev_major / gnu_dev_minor). */
export function splitDeviceNumber(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  const major = ((low >>> 8) & 0xfff) | ((high & ~0xfff) >>> 0);
  const minor = (low & 0xff) | (((low >>> 12) | ((high & 0xfff) << 20)) & ~0xff);
  return { major: major >>> 0, minor: minor >>> 0 };
}
