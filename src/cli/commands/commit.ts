import type { Command } from 'commander';
import type { ResolvedImage } from '../../image/index.js';
import { clientFor, print, withMaster } from '../context.js';

export function registerCommit(program: Command): void {
  withMaster(program.command('commit'))
    .description("make an image from a task's changes: its writable layer on top of its image")
    .argument('<task>', 'task id (or its last characters) or name; running or stopped')
    .argument('<name>', 'NAME[:TAG] for the new image')
    .option('-m, --message <text>', 'commit message, shown by `berth history`')
    .option('-a, --author <name>', 'author of the change')
    .addHelpText(
      'after',
      '\nExamples:\n  berth commit web-1 web:patched\n  berth commit -m "add config" 3f9c2a app:2',
    )
    .action(
      async (task: string, name: string, opts: { master?: string; message?: string; author?: string }) => {
        const image = await clientFor(opts).post<ResolvedImage>(
          `/api/v1/tasks/${encodeURIComponent(task)}/commit`,
          {
            reference: name,
            ...(opts.message ? { message: opts.message } : {}),
            ...(opts.author ? { author: opts.author } : {}),
          },
        );
        print(`${image.reference} ${image.manifestDigest}`);
      },
    );
}
