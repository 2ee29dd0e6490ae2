import { InvalidArgumentError } from './errors.js';

const MEM_UNITS: Record<string, number> = {
  '': 1 / (1024 * 1024),
  b: 1 / (1024 * 1024),
  k: 1 / 1024,
  m: 1,
  g: 1024,
  t: 1024 * 1024,
};

/** Parses a memory size such as `64M`, `1.5g`, `512m` or `1048576b` into MiB (Mesos's unit for mem). */
export function parseMemSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  const unit = match ? MEM_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new InvalidArgumentError(`bad memory size "${text}": use a number with a unit, e.g. 64M or 1G`);
  }
  const mib = Number(match[1]) * unit;
  if (!(mib > 0)) throw new InvalidArgumentError(`bad memory size "${text}": it must be more than zero`);
  return mib;
}

export function parseCpus(text: string): number {
  const cpus = Number(text);
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw new InvalidArgumentError(`bad cpu count "${text}": use a positive number, e.g. 0.5`);
  }
  return cpus;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(value < 10 ? 2 : 1)}${units[i]}`;
}

/** "3 seconds ago", "2 minutes ago": the age column of `ps` and `images`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'} ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'} ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'} ago`;
  const d = Math.round(h / 24);
  return `${d} days ago`;
}
