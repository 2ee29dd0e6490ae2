import { readFileSync } from 'node:fs';

/** Hard rlimits of this process, by OCI name (`RLIMIT_NOFILE`); `Infinity` for "unlimited". */
export type HostLimits = Readonly<Partial<Record<string, number>>>;

const NAMES: Readonly<Record<string, string>> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/** Parses `/proc/<pid>/limits` into hard limits. Columns are separated by two or more spaces. */
export function parseProcLimits(text: string): HostLimits {
  const limits: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [label, , hard] = line.split(/\s{2,}/);
    const name = label === undefined ? undefined : NAMES[label.trim()];
    if (name === undefined || hard === undefined) continue;
    limits[name] = hard === 'unlimited' ? Infinity : Number(hard);
  }
  return limits;
}

export function readHostLimits(): HostLimits {
  return parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));
}
