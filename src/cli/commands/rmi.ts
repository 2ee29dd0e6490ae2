import type { Command } from 'commander';
import { clientFor, print, withMaster } from '../context.js';

export function registerRmi(program: Command): void {
  withMaster(program.command('rmi'))
    .description('remove image names; `berth image prune` then frees the space')
    .argument('<images...>', 'NAME[:TAG], or NAME@DIGEST for all its tags')
    .option('-f, --force', 'remove even when a running task uses the image')
    .addHelpText('after', '\nExamples:\n  berth rmi app:old\n  berth rmi -f busybox && berth image prune')
    .action(async (images: string[], opts: { master?: string; force?: boolean }) => {
      const client = clientFor(opts);
      for (const reference of images) {
        const result = await client.post<{ digest: string; removed: string[] }>('/api/v1/images/remove', {
          reference,
          force: opts.force === true,
        });
        for (const name of result.removed) print(`Untagged: ${name}`);
      }
    });
}
