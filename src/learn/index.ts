import type { Environment } from '../env/types.js';
import { Algorithm1Learner } from './algorithm1.js';
import { Algorithm2Learner } from './algorithm2.js';
import type { Learner, LearnerOptions } from './learner.js';

export type { Learner, LearnerOptions, LearnerState, Transition, ModelMaker } from './learner.js';
export { Algorithm1Learner } from './algorithm1.js';
export { Algorithm2Learner } from './algorithm2.js';
export { stepSizeAt, type StepSizeSchedule } from './schedule.js';

/** The learner of Algorithm 1 or 2 for one agent. */
export function createLearner(algorithm: 1 | 2, env: Environment, options: LearnerOptions): Learner {
  return algorithm === 1 ? new Algorithm1Learner(env, options) : new Algorithm2Learner(env, options);
}
