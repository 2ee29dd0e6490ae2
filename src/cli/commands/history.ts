import type { Command } from 'commander';
import { formatAge, formatBytes } from '../../core/units.js';
import type { HistoryEntry } from '../../image/index.js';
import { clientFor, print, withMaster } from '../context.js';
import { formatTable } from '../table.js';

interface HistoryRow extends HistoryEntry {
  size: number;
  layer?: string;
}

export function registerHistory(program: Command): void {
  withMaster(program.command('history'))
    .description("show an image's history: one line per step, newest first")
    .argument('<image>', 'image NAME[:TAG]')
    .option('--no-trunc', 'do not shorten the CREATED BY column')
    .addHelpText('after', '\nExample:\n  berth history app:1')
    .action(async (image: string, opts: { master?: string; trunc: boolean }) => {
      const { history } = await clientFor(opts).get<{ history: HistoryRow[] }>(
        `/api/v1/images/${encodeURIComponent(image)}/history`,
      );
      const now = Date.now();
      const rows = history.map((h) => {
        const by = (h.created_by ?? '').replace(/\s+/g, ' ');
        return [
          h.layer ? h.layer.replace(/^sha256:/, '').slice(0, 12) : '<missing>',
          h.created ? formatAge(now - Date.parse(h.created)) : '',
          opts.trunc && by.length > 60 ? `${by.slice(0, 59)}…` : by,
          formatBytes(h.size),
          h.comment ?? '',
        ];
      });
      print(formatTable(['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
    });
}
