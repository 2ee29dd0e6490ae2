import { BerthError } from '../../core/errors.js';

export class RunTaskNotFoundError extends BerthError {
  readonly code = 'ERR_TASK_NOT_FOUND';
  constructor(readonly ref: string) {
    super(`task "${ref}" not found: \`berth ps -a\` lists the tasks`);
  }
}
