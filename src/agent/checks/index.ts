export {
  instantTaskChecker,
  ProbingTaskChecker,
  runProbe,
  type CheckListener,
  type CheckRun,
  type CheckTarget,
  type Probe,
  type ProbingTaskCheckerOptions,
  type TaskChecker,
} from './checker.js';
export * from './decide.js';
export { isHealthyStatus, probeCommand, probeHttp, probeTcp, type CheckExec } from './probes.js';
