export * from './types.js';
export { parseConstraint, parseConstraints, constraintText, readField } from './constraints.js';
export {
  placeInstances,
  offerCandidate,
  agentCandidate,
  attributeRecord,
  type AgentResources,
} from './place.js';
export {
  explainCandidates,
  summarize,
  NO_CANDIDATES,
  type ReasonCount,
  type CandidateExplanation,
  type CheckVerdict,
} from './explain.js';
