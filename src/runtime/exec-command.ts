import { spawn } from 'node:child_process';
import type { ExecStatus } from './types.js';

const OUTPUT_LIMIT = 4096;
const KILL_AFTER_TERM_MS = 1000;

/**
 * Runs a short command in its own process group and collects the start of its output. On timeout the
 * group gets SIGTERM, then SIGKILL a second later; the result says `timedOut`. Never rejects for a
 * non-zero exit; a command that cannot be spawned resolves with exit code 127, as a shell reports it.
 */
export function execCommand(
  file: string,
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs: number },
): Promise<ExecStatus> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_LIMIT)
        output += chunk.toString('utf8').slice(0, OUTPUT_LIMIT - output.length);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_AFTER_TERM_MS);
    }, options.timeoutMs);
    let done = false;
    const finish = (status: ExecStatus): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      // Descendants that outlive the command must not keep the pipes (and this process) busy.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(status);
    };
    child.once('error', (err) =>
      finish({ exitCode: 127, signal: null, timedOut: false, output: err.message }),
    );
    child.once('exit', (code, signal) => {
      // Let output already in the pipes arrive before reporting.
      setImmediate(() => finish({ exitCode: code, signal, timedOut, output: output.trim() }));
    });
  });
}
