/**
 * A user as images and Dockerfiles name it ("name", "uid", "name:group", "uid:gid") → numeric ids, from
 * the image's /etc/passwd and /etc/group. Pure, apart from `readRootfsFile`. Docker's rules: a numeric uid
 * need not be in passwd; its gid then comes from passwd when listed there, else 0.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';

export interface UserIds {
  uid: number;
  gid: number;
}

function lookup(text: string, name: string, idField: number): string[] | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length > idField) return fields;
  }
  return undefined;
}

/** Resolves a user spec; an unknown name is an InvalidArgumentError that says which file lacks it. */
export function resolveUser(spec: string, passwd: string, group: string): UserIds {
  const [userPart = '', groupPart] = spec.split(':', 2);
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[2] === userPart);
    gid = entry?.[3] !== undefined ? Number(entry[3]) : undefined;
  } else {
    const entry = lookup(passwd, userPart, 3);
    if (!entry) throw new InvalidArgumentError(`user "${userPart}" is not in the image's /etc/passwd`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const entry = lookup(group, groupPart, 2);
      if (!entry) throw new InvalidArgumentError(`group "${groupPart}" is not in the image's /etc/group`);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid: gid ?? 0 };
}

/** A small text file of the rootfs, or "" when it is missing or a symlink (which could lead to the host). */
export async function readRootfsFile(rootfs: string, path: string): Promise<string> {
  const file = join(rootfs, path);
  try {
    if (!(await lstat(file)).isFile()) return '';
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** Resolves `spec` against the passwd and group files of a mounted rootfs. */
export async function resolveUserInRootfs(spec: string, rootfs: string): Promise<UserIds> {
  return resolveUser(
    spec,
    await readRootfsFile(rootfs, 'etc/passwd'),
    await readRootfsFile(rootfs, 'etc/group'),
  );
}
