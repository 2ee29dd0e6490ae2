/** USER and `--chown` in a build: the runtime's user resolution, with errors that name the step. */
import { InvalidArgumentError } from '../../core/errors.js';
import { resolveUser, type UserIds } from '../../runtime/user.js';
import { BuildStepFailedError } from './errors.js';

export { readRootfsFile, type UserIds } from '../../runtime/user.js';

/** Resolves a USER value; `step` names the step in errors. */
export function computeUserIds(spec: string, passwd: string, group: string, step: string): UserIds {
  try {
    return resolveUser(spec, passwd, group);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new BuildStepFailedError(step, err.message);
    throw err;
  }
}
