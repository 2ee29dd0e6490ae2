export * from './types.js';
export * from './errors.js';
export { parseJobSpec, checkJobId, checkNoCycle } from './spec.js';
export { checkCron, checkTimeZone, dueRuns, decideConcurrency, nextTime, timesBetween } from './cron.js';
export { nextActions, runsToPrune, dependenciesMet, backoffMs, newRunId } from './decide.js';
export { JobsFramework, type JobsFrameworkOptions, type JobView, type RunView } from './jobs-framework.js';
export { registerJobsRoutes } from './http.js';
export { jobsFrameworkFactory } from './factory.js';
