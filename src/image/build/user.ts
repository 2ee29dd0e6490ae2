/**
 * USER: "name", "uid", "name:group", "uid:gid" → numeric ids, from the image's /etc/passwd and
 * /etc/group (read from the container's rootfs). Pure, apart from `readRootfsFile`.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildStepFailedError } from './errors.js';

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

/** Resolves a USER value; `step` names the step in errors. */
export function computeUserIds(spec: string, passwd: string, group: string, step: string): UserIds {
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
    if (!entry) throw new BuildStepFailedError(step, `user "${userPart}" is not in the image's /etc/passwd`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const entry = lookup(group, groupPart, 2);
      if (!entry)
        throw new BuildStepFailedError(step, `group "${groupPart}" is not in the image's /etc/group`);
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
