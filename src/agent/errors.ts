import { BerthError } from '../core/errors.js';

export class SandboxRemovedError extends BerthError {
  readonly code = 'ERR_SANDBOX_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`the sandbox of task "${taskId}" was removed (it ran with --rm), so its output is gone`);
  }
}

export class AgentTaskNotFoundError extends BerthError {
  readonly code = 'ERR_TASK_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`task "${taskId}" is not on this agent`);
  }
}
