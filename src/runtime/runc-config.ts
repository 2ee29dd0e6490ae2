import type { HostLimits } from './host-limits.js';
import type { LaunchSpec } from './types.js';

/** The parts of an OCI runtime spec (1.0.2) that berth writes. */
export interface RuntimeConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]>;
    rlimits: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: {
    cgroupsPath: string;
    resources: {
      devices: Array<{ allow: boolean; access: string }>;
      memory?: { limit: number };
      cpu?: { shares: number; quota: number; period: number };
    };
    namespaces: Array<{ type: string }>;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** runc's default capability set (the one Docker grants too), minus nothing. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Used when the task's env has no PATH, as Docker does; runc resolves `args[0]` with it. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Rlimits berth asks for; each is clamped to the host's hard limit (without CAP_SYS_RESOURCE runc fails). */
const WANTED_RLIMITS: ReadonlyArray<{ type: string; soft: number; hard: number }> = [
  { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
];

const CPU_PERIOD_US = 100_000;
const MIN_CPU_QUOTA_US = 1_000; // the kernel refuses a quota below 1 ms
const MIN_CPU_SHARES = 2;
const HOST_NAME_MAX = 64;

/** The mounts `runc spec` generates. */
const DEFAULT_MOUNTS: RuntimeConfig['mounts'] = [
  { destination: '/proc', type: 'proc', source: 'proc' },
  {
    destination: '/dev',
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
  },
  {
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  },
  {
    destination: '/dev/shm',
    type: 'tmpfs',
    source: 'shm',
    options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
  },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  {
    destination: '/sys/fs/cgroup',
    type: 'cgroup',
    source: 'cgroup',
    options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
  },
];

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The OCI runtime config for a task: `runc spec`'s defaults, with the task's process, hostname = id,
 * host networking (no network namespace), a writable rootfs and cgroup limits from `spec.resources`.
 * `spec.rootfs` must be absolute. With `spec.overlay`, runc mounts the overlay on it in the container.
 */
export function computeRuntimeConfig(spec: LaunchSpec, hostLimits: HostLimits): RuntimeConfig {
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: spec.user?.uid ?? 0, gid: spec.user?.gid ?? 0 },
      args: [...spec.args],
      env: computeEnv(spec.env),
      cwd: spec.cwd ?? '/',
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      rlimits: computeRlimits(hostLimits),
      noNewPrivileges: true,
    },
    root: { path: spec.rootfs ?? '', readonly: false },
    hostname: spec.id.slice(0, HOST_NAME_MAX),
    mounts: [
      // First, so that every other mount lands on it. runc accepts the options as one comma-free item
      // each; the lowerdir list keeps its colons.
      ...(spec.overlay
        ? [{ destination: '/', type: 'overlay', source: 'overlay', options: spec.overlay.options.split(',') }]
        : []),
      ...DEFAULT_MOUNTS.map((m) => ({ ...m, ...(m.options ? { options: [...m.options] } : {}) })),
      ...(spec.mounts ?? []).map((m) => ({
        destination: m.destination,
        type: 'bind',
        source: m.source,
        options: ['rbind', 'rprivate', m.readonly ? 'ro' : 'rw'],
      })),
    ],
    linux: {
      cgroupsPath: `/berth/${spec.id}`,
      resources: { devices: [{ allow: false, access: 'rwm' }], ...computeResources(spec.resources) },
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

function computeEnv(env: Record<string, string>): string[] {
  const list = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return 'PATH' in env ? list : [`PATH=${DEFAULT_PATH}`, ...list];
}

/** Each wanted rlimit, clamped to the host's hard limit (soft never above hard). */
export function computeRlimits(hostLimits: HostLimits): RuntimeConfig['process']['rlimits'] {
  return WANTED_RLIMITS.map(({ type, soft, hard }) => {
    const hostHard = hostLimits[type] ?? Infinity;
    const clampedHard = Math.min(hard, hostHard);
    return { type, hard: clampedHard, soft: Math.min(soft, clampedHard) };
  });
}

function computeResources(
  resources: LaunchSpec['resources'],
): Omit<RuntimeConfig['linux']['resources'], 'devices'> {
  const out: Omit<RuntimeConfig['linux']['resources'], 'devices'> = {};
  if (resources.memMiB > 0) out.memory = { limit: Math.round(resources.memMiB * 1024 * 1024) };
  if (resources.cpus > 0) {
    out.cpu = {
      shares: Math.max(MIN_CPU_SHARES, Math.round(resources.cpus * 1024)),
      quota: Math.max(MIN_CPU_QUOTA_US, Math.round(resources.cpus * CPU_PERIOD_US)),
      period: CPU_PERIOD_US,
    };
  }
  return out;
}
