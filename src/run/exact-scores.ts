/**
 * Exact scores of a finished run on an enumerable MDP: J(θ) of the learned factored policy,
 * the optimum J* over all joint policies, J of the uniform random policy, and the normalised
 * score (J − J_uniform) / (J* − J_uniform): 0 is no better than random, 1 is optimal.
 */
import { averageReward, optimalAverageReward, uniformAverageReward } from '../env/exact.js';
import type { FiniteMdp } from '../env/types.js';
import type { Learner } from '../learn/learner.js';

export interface ExactScores {
  readonly J: number;
  readonly Jstar: number;
  readonly Juniform: number;
  readonly normalizedScore: number;
}

/** Exact J of the learners' current policies, with J* and J_uniform of the MDP (team-average reward). */
export function exactScores(mdp: FiniteMdp, learners: readonly Learner[]): ExactScores {
  const J = learnedAverageReward(mdp, learners);
  const Jstar = optimalAverageReward(mdp);
  const Juniform = uniformAverageReward(mdp);
  return { J, Jstar, Juniform, normalizedScore: (J - Juniform) / (Jstar - Juniform) };
}

/** J(θ): the globally averaged long-run reward of the product policy Π_i π^i(·|s; θ^i). */
export function learnedAverageReward(mdp: FiniteMdp, learners: readonly Learner[]): number {
  const probabilities = learners.map((_, agent) =>
    Array.from({ length: mdp.stateCount }, (_state, state) => {
      const out = new Float64Array(mdp.actionCounts[agent]);
      learners[agent].actionProbabilities(state, out);
      return out;
    }),
  );
  return averageReward(mdp, (agent, state) => probabilities[agent][state]);
}
