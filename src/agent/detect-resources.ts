import { statfsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseResources, ranges, scalar, type Resource } from '../core/resources.js';

/**
 * What this machine offers when `--resources` does not say: all cpus, the memory less 1 GiB for the
 * system (Mesos keeps half or 1 GiB back; berth keeps the smaller), the free disk of the work dir, and
 * ports 31000-32000. Names given in `spec` replace the detected ones.
 */
export function detectResources(workDir: string, spec?: string): Resource[] {
  const memMiB = Math.floor(totalmem() / 1024 / 1024);
  const fs = statfsSync(workDir);
  const diskMiB = Math.floor((Number(fs.bavail) * Number(fs.bsize)) / 1024 / 1024);
  const detected: Resource[] = [
    scalar('cpus', cpus().length),
    scalar('mem', Math.max(memMiB - Math.min(1024, Math.floor(memMiB / 2)), 32)),
    scalar('disk', diskMiB),
    ranges('ports', [{ begin: 31000, end: 32000 }]),
  ];
  if (!spec) return detected;
  const given = parseResources(spec);
  const names = new Set(given.map((r) => r.name));
  return [...detected.filter((r) => !names.has(r.name)), ...given];
}
