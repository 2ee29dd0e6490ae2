/** The `berth` command line. Each command lives in its own file under `commands/`. */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerImageCommands } from './commands/image.js';
import { registerKill } from './commands/kill.js';
import { registerLogs } from './commands/logs.js';
import { registerNodes } from './commands/nodes.js';
import { registerPs } from './commands/ps.js';
import { registerRun } from './commands/run.js';
import { registerJobs } from './commands/jobs.js';
import { registerUp } from './commands/up.js';
import { registerRegistry } from './commands/registry.js';
import { registerMaster } from './commands/master.js';
import { registerAgent } from './commands/agent.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerPull } from './commands/pull.js';
import { registerPush } from './commands/push.js';
import { registerLogin, registerLogout } from './commands/login.js';
import { registerBuild } from './commands/build.js';
import { registerCommit } from './commands/commit.js';
import { registerTag } from './commands/tag.js';
import { registerRmi } from './commands/rmi.js';
import { registerHistory } from './commands/history.js';
import { registerInspect } from './commands/inspect.js';
import { registerSave } from './commands/save.js';
import { registerLoad } from './commands/load.js';
import { registerPrune } from './commands/prune.js';
import { registerSim } from './commands/sim.js';
import { registerApply } from './commands/apply.js';
import { registerServices } from './commands/services.js';
import { registerReservations } from './commands/reservations.js';
import { exit } from './context.js';
import { reportFailure } from './fast-run.js';

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('berth')
    .description('berth: images, a resource manager and frameworks for running containers on your machines')
    .version(pkg.version, '-v, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  program.addHelpText(
    'after',
    `
Quick start:
  berth up --demo                              start a single-node cluster and run a demo container
  berth image import ./rootfs busybox:latest   make an image from a directory or a tar
  berth run --rm busybox echo hello            run a container and stream its output
  berth ps -a                                  list tasks`,
  );
  registerUp(program);
  registerRegistry(program);
  registerMaster(program);
  registerAgent(program);
  registerNodes(program);
  registerClusterCommands(program);
  registerImageCommands(program);
  registerRun(program);
  registerJobs(program);
  registerPs(program);
  registerLogs(program);
  registerKill(program);
  registerPull(program);
  registerPush(program);
  registerLogin(program);
  registerLogout(program);
  registerBuild(program);
  registerCommit(program);
  registerTag(program);
  registerRmi(program);
  registerHistory(program);
  registerInspect(program);
  registerSave(program);
  registerLoad(program);
  registerPrune(program);
  registerSim(program);
  registerApply(program);
  registerServices(program);
  registerReservations(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exit.code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 64;
    return reportFailure(err);
  }
}
