import type { Command } from 'commander';
import { clientFor, withMaster } from '../context.js';
import { streamOutput } from '../output.js';

export function registerLogs(program: Command): void {
  withMaster(program.command('logs'))
    .description("print a task's output (stdout and stderr)")
    .argument('<task>', 'task id (or its last characters) or name')
    .option('-f, --follow', 'keep printing new output until the task ends')
    .addHelpText('after', '\nExamples:\n  berth logs web-1\n  berth logs -f 3f9c2a1b7d0e')
    .action(async (task: string, opts: { master?: string; follow?: boolean }) => {
      await streamOutput(clientFor(opts), task, { follow: opts.follow === true });
    });
}
