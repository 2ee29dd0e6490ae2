/**
 * `berth push REF`: the master's node pushes the image named REF in its store to the registry REF
 * names (`POST /api/v1/images/push`). Blobs the repository has already are not sent again.
 */
import type { Command } from 'commander';
import { withMaster } from '../context.js';
import { runTransfer, type TransferOptions } from './pull.js';

export function registerPush(program: Command): void {
  withMaster(program.command('push'))
    .description('push an image to the registry its name names')
    .argument('<reference>', 'HOST[:PORT]/REPO[:TAG], the name of the image in the store')
    .option('--insecure', 'speak plain HTTP to this registry (or list it in BERTH_INSECURE_REGISTRIES)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth image import ./rootfs 127.0.0.1:5000/app:1\n  berth push 127.0.0.1:5000/app:1',
    )
    .action((reference: string, opts: TransferOptions) => runTransfer('push', reference, opts));
}
