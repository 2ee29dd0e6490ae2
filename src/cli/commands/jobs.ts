/** `berth jobs` and `berth job run|runs|logs|stop`: the jobs framework from the command line. */
import type { Command } from 'commander';
import { isBerthError } from '../../core/errors.js';
import { formatAge } from '../../core/units.js';
import { jobsApi, runExitCode, type RunView } from '../../frameworks/jobs/client.js';
import type { ApiClient } from '../client.js';
import { clientFor, exit, print, warn, withMaster } from '../context.js';
import { streamOutput } from '../output.js';
import { formatTable, truncate } from '../table.js';

const when = (t: number | undefined, now: number): string => {
  if (t === undefined) return '-';
  if (t >= now) return `in ${formatAge(t - now).replace(/ ago$/, '')}`;
  return formatAge(now - t);
};

export function registerJobs(program: Command): void {
  withMaster(program.command('jobs'))
    .description('list jobs: their last run, its state, and the next scheduled run')
    .addHelpText('after', '\nExamples:\n  berth jobs\n  berth apply -f examples/jobs.yaml && berth jobs')
    .action(async (opts: { master?: string }) => {
      const jobs = await jobsApi.list(clientFor(opts));
      const now = Date.now();
      const rows = jobs.map((j) => [
        j.id,
        j.kind,
        j.spec.schedule ? `${j.spec.schedule.cron}${j.spec.schedule.suspend ? ' (suspended)' : ''}` : '-',
        j.lastRun ? j.lastRun.id : '-',
        j.lastRun ? j.lastRun.state : '-',
        when(j.lastRun?.finishedAt ?? j.lastRun?.createdAt, now),
        when(j.nextRunAt, now),
        j.schedule && j.schedule.missed > 0 ? String(j.schedule.missed) : '-',
      ]);
      print(formatTable(['ID', 'KIND', 'SCHEDULE', 'LAST RUN', 'STATE', 'WHEN', 'NEXT RUN', 'MISSED'], rows));
    });

  const job = program.command('job').description('run, inspect and stop jobs (see also `berth jobs`)');

  withMaster(job.command('run'))
    .description('start a run of a job now')
    .argument('<id>', 'job id')
    .option('--wait', "stream the run's output and exit with its result")
    .addHelpText('after', '\nExamples:\n  berth job run nightly-report\n  berth job run etl --wait')
    .action(async (id: string, opts: { master?: string; wait?: boolean }) => {
      const client = clientFor(opts);
      const run = await jobsApi.startRun(client, id);
      if (!opts.wait) return print(run.id);
      warn(`run ${run.id} started`);
      let interrupted = 0;
      const onSignal = (): void => {
        if (++interrupted > 1) process.exit(130);
        warn(`stopping run ${run.id} (press Ctrl-C again to leave it running)`);
        void jobsApi.stop(client, run.id).catch(() => undefined);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        exit.code = await follow(client, run.id);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  withMaster(job.command('runs'))
    .description("list a job's runs, newest first")
    .argument('<id>', 'job id')
    .action(async (id: string, opts: { master?: string }) => {
      const runs = await jobsApi.runs(clientFor(opts), id);
      const now = Date.now();
      const rows = runs.map((r) => [
        r.id,
        r.state,
        r.trigger,
        formatAge(now - r.createdAt),
        r.finishedAt !== undefined ? formatAge(now - r.finishedAt) : '-',
        `${r.succeeded}/${r.spec.completions}`,
        String(r.failed),
        truncate(r.reason ?? (r.waiting ? `waiting: ${r.waiting}` : ''), 80),
      ]);
      print(
        formatTable(['RUN', 'STATE', 'TRIGGER', 'STARTED', 'FINISHED', 'DONE', 'FAILED', 'REASON'], rows),
      );
    });

  withMaster(job.command('logs'))
    .description("print the output of a run's tasks, in order")
    .argument('<run>', 'run id')
    .option('-f, --follow', 'keep printing until the run ends')
    .action(async (runId: string, opts: { master?: string; follow?: boolean }) => {
      const client = clientFor(opts);
      if (opts.follow) {
        await follow(client, runId);
        return;
      }
      const run = await jobsApi.run(client, runId);
      for (const t of run.tasks) {
        if (t.state === 'PENDING') continue;
        if (run.tasks.length > 1) warn(`--- task ${t.id} (${t.state.replace(/^TASK_/, '')})`);
        await streamOutput(client, t.id, { follow: false }).catch((err: unknown) =>
          warn(`no output for task ${t.id}: ${isBerthError(err) ? err.message : String(err)}`),
        );
      }
    });

  withMaster(job.command('stop'))
    .description('stop a run: kill its tasks and mark it failed')
    .argument('<run>', 'run id')
    .action(async (runId: string, opts: { master?: string }) => {
      const run = await jobsApi.stop(clientFor(opts), runId);
      print(`${run.id} ${run.state}${run.reason ? `: ${run.reason}` : ''}`);
    });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Streams each task's output as it starts, until the run has ended; resolves with the exit code. */
async function follow(client: ApiClient, runId: string): Promise<number> {
  const streamed = new Set<string>();
  for (;;) {
    const run: RunView = await jobsApi.run(client, runId);
    const next = run.tasks.find((t) => t.state !== 'PENDING' && !streamed.has(t.id));
    if (!next) {
      if (run.state !== 'ACTIVE') {
        if (run.state === 'FAILED') warn(`run ${run.id} failed: ${run.reason ?? 'unknown reason'}`);
        return runExitCode(run);
      }
      await sleep(250);
      continue;
    }
    try {
      await streamOutput(client, next.id, { follow: true, waitSeconds: 10 });
      streamed.add(next.id);
    } catch (err) {
      if (!isBerthError(err) || err.code !== 'ERR_TASK_NOT_FOUND') throw err;
      // Not known to the master yet (being launched), or gone: look again shortly.
      if (run.state !== 'ACTIVE') streamed.add(next.id);
      await sleep(250);
    }
  }
}
