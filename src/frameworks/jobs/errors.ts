import { BerthError } from '../../core/errors.js';

export class JobNotFoundError extends BerthError {
  readonly code = 'ERR_JOB_NOT_FOUND';
  constructor(readonly id: string) {
    super(`job "${id}" not found: \`berth jobs\` lists the jobs`);
  }
}

export class JobRunNotFoundError extends BerthError {
  readonly code = 'ERR_JOB_RUN_NOT_FOUND';
  constructor(readonly runId: string) {
    super(`job run "${runId}" not found: \`berth job runs JOB\` lists a job's runs`);
  }
}

export class JobExistsError extends BerthError {
  readonly code = 'ERR_JOB_EXISTS';
  constructor(readonly id: string) {
    super(`job "${id}" already exists: replace it with PUT /v1/jobs/${id} or \`berth apply -f\``);
  }
}

export class JobBusyError extends BerthError {
  readonly code = 'ERR_JOB_CONFLICT';
}
