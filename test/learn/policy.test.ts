// ∇_θ log π(a|s; θ) of the softmax policy against central finite differences.
import { describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { LinearModel } from '../../src/model/linear.js';
import { SoftmaxPolicy } from '../../src/learn/policy.js';

function logProbability(policy: SoftmaxPolicy, input: Float32Array, action: number): number {
  const probabilities = new Float64Array(policy.actionCount);
  policy.probabilities(input, probabilities);
  return Math.log(probabilities[action]);
}

describe('softmax policy', () => {
  it('probabilities are positive and sum to 1, also for huge scores', () => {
    const model = new LinearModel(6, 3, new Float32Array([400, -300]));
    const policy = new SoftmaxPolicy(model, { size: 6, actionCount: 3, write: () => {} });
    const probabilities = new Float64Array(3);
    policy.probabilities(new Float32Array([1, 0, 0, 1, 1, 1]), probabilities);
    expect(probabilities.every((p) => Number.isFinite(p) && p >= 0)).toBe(true);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('∇ log π matches finite differences (linear scores over per-action features)', () => {
    const random = RandomStream.create(1, 'test');
    const featureSize = 5;
    const actionCount = 3;
    for (let trial = 0; trial < 5; trial++) {
      const theta = Float32Array.from({ length: featureSize }, () => random.nextFloat() * 2 - 1);
      const input = Float32Array.from({ length: featureSize * actionCount }, () => random.nextFloat());
      const model = new LinearModel(featureSize * actionCount, actionCount, theta);
      const policy = new SoftmaxPolicy(model, { size: input.length, actionCount, write: () => {} });
      const action = trial % actionCount;
      const probabilities = new Float64Array(actionCount);
      policy.probabilities(input, probabilities);
      const gradient = new Float32Array(featureSize);
      policy.gradLogProbability(input, action, probabilities, gradient);
      const epsilon = 1e-2;
      for (let k = 0; k < featureSize; k++) {
        const plus = Float32Array.from(theta);
        plus[k] += epsilon;
        const minus = Float32Array.from(theta);
        minus[k] -= epsilon;
        model.setParameters(plus);
        const up = logProbability(policy, input, action);
        model.setParameters(minus);
        const down = logProbability(policy, input, action);
        model.setParameters(theta);
        const numeric = (up - down) / (plus[k] - minus[k]);
        expect(Math.abs(gradient[k] - numeric)).toBeLessThan(2e-3);
      }
      // Not vacuous: the gradient is not zero.
      expect(Math.max(...Array.from(gradient, Math.abs))).toBeGreaterThan(1e-3);
    }
  });

  it('samples actions with the policy probabilities', () => {
    const model = new LinearModel(2, 2, new Float32Array([Math.log(3)]));
    const policy = new SoftmaxPolicy(model, { size: 2, actionCount: 2, write: () => {} });
    const probabilities = new Float64Array(2);
    policy.probabilities(new Float32Array([1, 0]), probabilities); // π = (0.75, 0.25)
    expect(probabilities[0]).toBeCloseTo(0.75, 6);
    const random = RandomStream.create(2, 'sampling');
    let zeros = 0;
    const draws = 20000;
    for (let n = 0; n < draws; n++) if (policy.sample(probabilities, random) === 0) zeros++;
    expect(Math.abs(zeros / draws - 0.75)).toBeLessThan(4 * Math.sqrt((0.75 * 0.25) / draws));
  });
});
