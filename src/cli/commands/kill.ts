import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { clientFor, print, withMaster } from '../context.js';

export function registerKill(program: Command): void {
  withMaster(program.command('kill'))
    .description('stop a task: SIGTERM, then SIGKILL after the grace period')
    .argument('<task>', 'task id (or its last characters) or name')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .addHelpText('after', '\nExamples:\n  berth kill web-1\n  berth kill -t 0 3f9c2a1b7d0e')
    .action(async (task: string, opts: { master?: string; time: string }) => {
      const grace = Number(opts.time);
      if (!Number.isFinite(grace) || grace < 0)
        throw new InvalidArgumentError(`bad grace period "${opts.time}": use seconds, e.g. 10`);
      const { id } = await clientFor(opts).post<{ id: string }>(
        `/api/v1/tasks/${encodeURIComponent(task)}/kill?grace=${grace}`,
      );
      print(id);
    });
}
