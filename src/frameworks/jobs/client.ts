/** What the CLI reads and calls of the jobs API (`berth jobs`, `berth job …`), on any JSON HTTP client. */
import type { JobView, RunView } from './jobs-framework.js';
import type { JobRun } from './types.js';

export interface JsonClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

const enc = encodeURIComponent;

export const jobsApi = {
  list: (c: JsonClient): Promise<JobView[]> => c.get<JobView[]>('/v1/jobs'),
  startRun: (c: JsonClient, jobId: string): Promise<RunView> =>
    c.post<RunView>(`/v1/jobs/${enc(jobId)}/runs`),
  runs: (c: JsonClient, jobId: string): Promise<Array<JobRun & { waiting?: string }>> =>
    c.get<Array<JobRun & { waiting?: string }>>(`/v1/jobs/${enc(jobId)}/runs`),
  run: (c: JsonClient, runId: string): Promise<RunView> => c.get<RunView>(`/v1/runs/${enc(runId)}`),
  stop: (c: JsonClient, runId: string): Promise<RunView> =>
    c.post<RunView>(`/v1/runs/${enc(runId)}/actions/stop`),
};

/** The exit code of a finished run: 0 when it succeeded, else its last failed task's code (or 1). */
export function runExitCode(run: RunView): number {
  if (run.state === 'SUCCEEDED') return 0;
  const failed = [...run.tasks].reverse().find((t) => t.exitCode !== undefined && t.exitCode !== 0);
  return failed?.exitCode ?? 1;
}

export type { JobView, RunView };
