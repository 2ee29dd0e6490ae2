import { BerthError } from '../../core/errors.js';

export class ServiceNotFoundError extends BerthError {
  readonly code = 'ERR_SERVICE_NOT_FOUND';
  constructor(readonly serviceId: string) {
    super(`service "${serviceId}" not found: \`berth services\` lists the services`);
  }
}

export class DeploymentNotFoundError extends BerthError {
  readonly code = 'ERR_DEPLOYMENT_NOT_FOUND';
  constructor(readonly deploymentId: string) {
    super(`deployment "${deploymentId}" not found: \`berth deployments\` lists the running ones`);
  }
}

/** A change to a service while its deployment runs, without `force`. */
export class DeploymentConflictError extends BerthError {
  readonly code = 'ERR_DEPLOYMENT_CONFLICT';
  constructor(
    readonly serviceId: string,
    readonly deploymentId: string,
  ) {
    super(
      `service "${serviceId}" is being deployed (deployment ${deploymentId}): wait for it, or use --force to supersede it`,
    );
  }
}
