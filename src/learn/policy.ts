/**
 * Softmax (Boltzmann) policy π^i(b | s; θ^i) ∝ exp(score_b(s; θ^i)) over agent i's actions, with
 * scores from any Approximator (linear over φ^i(s,b), or an MLP).
 */
import type { Approximator } from '../model/types.js';
import type { RandomStream } from '../core/rng.js';
import type { PolicyInput } from './inputs.js';

export class SoftmaxPolicy {
  readonly actionCount: number;
  private readonly scores: Float32Array;
  private readonly outputWeights: Float32Array;

  constructor(
    readonly model: Approximator,
    readonly input: PolicyInput,
  ) {
    if (model.inputSize !== input.size || model.outputSize !== input.actionCount) {
      throw new Error(
        `policy model shape ${model.inputSize}→${model.outputSize} does not match its input ${input.size}→${input.actionCount}`,
      );
    }
    this.actionCount = input.actionCount;
    this.scores = new Float32Array(this.actionCount);
    this.outputWeights = new Float32Array(this.actionCount);
  }

  /** π(·|s) into `probabilities` given the policy input x(s) already written. */
  probabilities(input: Float32Array, probabilities: Float64Array): void {
    this.model.evaluate(input, this.scores);
    let maxScore = -Infinity;
    for (let b = 0; b < this.actionCount; b++) if (this.scores[b] > maxScore) maxScore = this.scores[b];
    let total = 0;
    for (let b = 0; b < this.actionCount; b++) {
      const weight = Math.exp(this.scores[b] - maxScore); // shifted by the max: no overflow
      probabilities[b] = weight;
      total += weight;
    }
    for (let b = 0; b < this.actionCount; b++) probabilities[b] /= total;
  }

  /** Draw an action from π(·|s) (probabilities already computed) with the agent's own stream. */
  sample(probabilities: Float64Array, random: RandomStream): number {
    return random.nextCategorical(probabilities);
  }

  /**
   * ∇_θ log π(a|s; θ) into `gradient`: Σ_b (1[b=a] − π(b|s)) ∇_θ score_b(s; θ).
   * `probabilities` must be π(·|s) for the same input and parameters.
   */
  gradLogProbability(input: Float32Array, action: number, probabilities: Float64Array, gradient: Float32Array): void {
    for (let b = 0; b < this.actionCount; b++) this.outputWeights[b] = (b === action ? 1 : 0) - probabilities[b];
    this.model.gradient(input, this.outputWeights, gradient);
  }
}
