import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { formatBytes } from '../../core/units.js';
import { clientFor, print, withMaster } from '../context.js';

interface PruneResult {
  blobs: number;
  layers: number;
  cacheEntries: number;
  bytes: number;
}

/** `berth image prune`, added under the `image` command (register it after the image commands). */
export function registerPrune(program: Command): void {
  const image = program.commands.find((c) => c.name() === 'image') ?? program.command('image');
  withMaster(image.command('prune'))
    .description('remove blobs, unpacked layers and build cache that no image, task or build uses')
    .option(
      '--grace <seconds>',
      'keep what changed within this many seconds (an import may be tagging it)',
      '10',
    )
    .addHelpText('after', '\nExample:\n  berth rmi app:old && berth image prune')
    .action(async (opts: { master?: string; grace: string }) => {
      const grace = Number(opts.grace);
      if (!(grace >= 0)) throw new InvalidArgumentError(`bad --grace "${opts.grace}": use seconds, e.g. 10`);
      const r = await clientFor(opts).post<PruneResult>(`/api/v1/images/prune?grace=${grace}`);
      print(
        `removed ${r.blobs} blobs (${formatBytes(r.bytes)}), ${r.layers} unpacked layers, ${r.cacheEntries} build cache entries`,
      );
    });
}
