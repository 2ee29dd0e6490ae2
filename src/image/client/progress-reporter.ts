/**
 * Draws transfer progress for a person: one cli-progress bar per blob on a terminal, and plain lines
 * otherwise, one per finished blob (`pushing sha256:3f2a9c1b7d4e… 1.2MB done`), so logs and scripts
 * read them too. Progress goes to stderr; the command's result goes to stdout.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '../../core/units.js';
import type { TransferProgress } from './progress.js';

export interface ProgressReporter {
  update(progress: TransferProgress): void;
  stop(): void;
}

export type TransferVerb = 'pulling' | 'pushing';

/** "sha256:3f2a9c1b7d4e…" */
export function shortDigest(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`;
}

/** The plain line for a record, or undefined for records that only move a bar. */
export function formatProgressLine(verb: TransferVerb, p: TransferProgress): string | undefined {
  const head = `${verb} ${shortDigest(p.digest)} ${formatBytes(p.total)}`;
  if (p.action === 'exists') return `${head} exists`;
  if (p.action === 'mounted') return `${head} mounted from ${p.from ?? 'another repository'}`;
  if (p.action === 'done') return `${head} done`;
  return undefined;
}

export function createProgressReporter(
  verb: TransferVerb,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  return stream.isTTY ? barReporter(verb, stream) : lineReporter(verb, stream);
}

function lineReporter(verb: TransferVerb, stream: NodeJS.WriteStream): ProgressReporter {
  return {
    update(p) {
      const line = formatProgressLine(verb, p);
      if (line !== undefined) stream.write(`${line}\n`);
    },
    stop() {},
  };
}

function barReporter(verb: TransferVerb, stream: NodeJS.WriteStream): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: `${verb} {digest} [{bar}] {moved}/{size} {state}`,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(p) {
      const payload = {
        digest: shortDigest(p.digest),
        moved: formatBytes(p.current),
        size: formatBytes(p.total),
        state: p.action === 'mounted' ? `mounted from ${p.from ?? '?'}` : p.action,
      };
      const total = Math.max(p.total, 1);
      const value = p.action === 'pulling' || p.action === 'pushing' ? p.current : total;
      const bar = bars.get(p.digest);
      if (bar === undefined) bars.set(p.digest, multi.create(total, value, payload));
      else bar.update(value, payload);
    },
    stop() {
      multi.stop();
    },
  };
}
