/**
 * RUN: the command runs in a real container (runc) on an overlay of the current layer chain and a
 * fresh upper dir, with the image's env, workdir and user. The upper dir becomes the step's layer.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../core/errors.js';
import { mountOverlay, unmountOverlay, type ExitStatus, type Launcher } from '../../runtime/index.js';
import { BuildStepFailedError } from './errors.js';
import { computeUserIds, readRootfsFile } from './user.js';

export interface RunStepInput {
  id: string;
  /** A fresh directory for this step's upper dir, work dir, rootfs and sandbox. */
  stepDir: string;
  /** The image's layers, top first (may be empty: FROM scratch). */
  lowerDirs: string[];
  args: string[];
  env: Record<string, string>;
  cwd: string;
  user?: string;
  step: string;
  onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

export interface RunStepResult {
  upperDir: string;
  status: ExitStatus;
}

export async function runInContainer(launcher: Launcher, input: RunStepInput): Promise<RunStepResult> {
  const dirs = {
    rootfs: join(input.stepDir, 'rootfs'),
    upper: join(input.stepDir, 'upper'),
    work: join(input.stepDir, 'work'),
    sandbox: join(input.stepDir, 'sandbox'),
    empty: join(input.stepDir, 'empty'),
  };
  await mkdir(dirs.sandbox, { recursive: true });
  await mkdir(dirs.empty, { recursive: true });
  const lowerDirs = input.lowerDirs.length > 0 ? input.lowerDirs : [dirs.empty];
  await mountOverlay({ lowerDirs, upperDir: dirs.upper, workDir: dirs.work, target: dirs.rootfs });
  try {
    const user = input.user
      ? computeUserIds(
          input.user,
          await readRootfsFile(dirs.rootfs, 'etc/passwd'),
          await readRootfsFile(dirs.rootfs, 'etc/group'),
          input.step,
        )
      : undefined;
    try {
      await launcher.launch({
        id: input.id,
        sandbox: dirs.sandbox,
        args: input.args,
        env: input.env,
        cwd: input.cwd,
        ...(user ? { user } : {}),
        rootfs: dirs.rootfs,
        resources: { cpus: 0, memMiB: 0 },
      });
    } catch (err) {
      await launcher.destroy(input.id, dirs.sandbox).catch(() => undefined);
      throw new BuildStepFailedError(input.step, `the container did not start: ${describeError(err)}`, {
        cause: err,
      });
    }
    const tail = tailOutput(dirs.sandbox, input.onOutput);
    const status = await launcher.wait(input.id, dirs.sandbox);
    await tail.stop();
    await launcher.destroy(input.id, dirs.sandbox);
    return { upperDir: dirs.upper, status };
  } finally {
    await unmountOverlay(dirs.rootfs);
  }
}

/** Follows the sandbox's stdout and stderr files until stopped, then reads what is left. */
function tailOutput(sandbox: string, onOutput: RunStepInput['onOutput']): { stop(): Promise<void> } {
  const offsets = { stdout: 0, stderr: 0 };
  const poll = async (): Promise<void> => {
    for (const stream of ['stdout', 'stderr'] as const) {
      const handle = await open(join(sandbox, stream), 'r').catch(() => undefined);
      if (!handle) continue;
      try {
        for (;;) {
          const { buffer, bytesRead } = await handle.read(
            Buffer.alloc(64 * 1024),
            0,
            64 * 1024,
            offsets[stream],
          );
          if (bytesRead === 0) break;
          offsets[stream] += bytesRead;
          onOutput(stream, buffer.subarray(0, bytesRead));
        }
      } finally {
        await handle.close();
      }
    }
  };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await poll();
    },
  };
}
