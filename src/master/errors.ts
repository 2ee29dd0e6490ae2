import { BerthError } from '../core/errors.js';

export class TaskNotFoundError extends BerthError {
  readonly code = 'ERR_TASK_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`task "${taskId}" not found: \`berth ps -a\` lists the tasks`);
  }
}

export class FrameworkNotSubscribedError extends BerthError {
  readonly code = 'ERR_FRAMEWORK_NOT_SUBSCRIBED';
  constructor(streamId: string) {
    super(`no framework is subscribed with stream id "${streamId}": SUBSCRIBE first`);
  }
}

export class AgentNotSubscribedError extends BerthError {
  readonly code = 'ERR_AGENT_NOT_SUBSCRIBED';
  constructor(streamId: string) {
    super(`no agent is subscribed with stream id "${streamId}": SUBSCRIBE first`);
  }
}

export class InvalidCallError extends BerthError {
  readonly code = 'ERR_INVALID_CALL';
}

export class OutputUnavailableError extends BerthError {
  readonly code = 'ERR_OUTPUT_UNAVAILABLE';
}

export class AgentNotFoundError extends BerthError {
  readonly code = 'ERR_AGENT_NOT_FOUND';
  constructor(readonly ref: string) {
    super(`agent "${ref}" not found: \`berth nodes\` lists the agents`);
  }
}
