import type { Command } from 'commander';
import type { TaskView } from '../../api/operator.js';
import { shortId } from '../../core/ids.js';
import { formatAge } from '../../core/units.js';
import { clientFor, print, withMaster } from '../context.js';
import { formatTable, truncate } from '../table.js';

const stateName = (s: string): string => s.replace(/^TASK_/, '');

export function registerPs(program: Command): void {
  withMaster(program.command('ps'))
    .description('list tasks (running ones; -a for all)')
    .option('-a, --all', 'show ended tasks too')
    .addHelpText('after', '\nExamples:\n  berth ps\n  berth ps -a')
    .action(async (opts: { master?: string; all?: boolean }) => {
      const { tasks } = await clientFor(opts).get<{ tasks: TaskView[] }>(
        `/api/v1/tasks${opts.all ? '?all=true' : ''}`,
      );
      const now = Date.now();
      const rows = tasks.map((t) => [
        shortId(t.id),
        truncate(t.name, 24),
        t.image ?? '-',
        truncate(t.command.length > 0 ? t.command.join(' ') : '(image default)', 30),
        stateName(t.state),
        shortId(t.agent_id),
        formatAge(now - t.created_at),
        t.exit_code === null ? '-' : String(t.exit_code),
      ]);
      print(formatTable(['ID', 'NAME', 'IMAGE', 'COMMAND', 'STATE', 'AGENT', 'CREATED', 'EXIT'], rows));
    });
}
