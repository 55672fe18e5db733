import { describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { LinearModel } from '../../src/model/linear.js';

function randomArray(stream: RandomStream, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * stream.nextFloat() - 1) * scale;
  return a;
}

/** Σ_k outputWeights[k] · f_k(input) in float64 from the model's outputs. */
function objective(model: LinearModel, input: Float32Array, outputWeights: Float32Array): number {
  const out = new Float32Array(model.outputSize);
  model.evaluate(input, out);
  let s = 0;
  for (let k = 0; k < out.length; k++) s += outputWeights[k] * out[k];
  return s;
}

describe('LinearModel', () => {
  for (const outputSize of [1, 3]) {
    it(`gradient matches central finite differences (outputSize ${outputSize})`, () => {
      const stream = RandomStream.create(7, `linear-fd-${outputSize}`);
      const d = 10;
      const model = new LinearModel(d * outputSize, outputSize, randomArray(stream, d));
      for (let trial = 0; trial < 5; trial++) {
        const input = randomArray(stream, d * outputSize, 2);
        const outputWeights = randomArray(stream, outputSize, 1.5);
        const grad = new Float32Array(d);
        model.gradient(input, outputWeights, grad);
        const w0 = Float32Array.from(model.parameters());
        for (let j = 0; j < d; j++) {
          const w = Float32Array.from(w0);
          w[j] = w0[j] + 0.25;
          const plusDelta = w[j];
          model.setParameters(w);
          const fPlus = objective(model, input, outputWeights);
          w[j] = w0[j] - 0.25;
          const minusDelta = w[j];
          model.setParameters(w);
          const fMinus = objective(model, input, outputWeights);
          // Divide by the perturbation actually stored in float32.
          const fd = (fPlus - fMinus) / (plusDelta - minusDelta);
          expect(Math.abs(grad[j] - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
        model.setParameters(w0);
      }
    });
  }

  it('evaluates w · block_k for every block (float64 reference)', () => {
    const stream = RandomStream.create(7, 'linear-eval');
    const d = 6;
    const m = 4;
    const w = randomArray(stream, d);
    const model = new LinearModel(d * m, m, w);
    const input = randomArray(stream, d * m, 3);
    const out = new Float32Array(m);
    model.evaluate(input, out);
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += w[j] * input[k * d + j];
      expect(Math.abs(out[k] - s)).toBeLessThan(1e-6 * (1 + Math.abs(s)));
    }
  });

  it('gives ∇ log π for a softmax policy with outputWeights = onehot(a) − π', () => {
    const stream = RandomStream.create(7, 'linear-policy');
    const d = 5;
    const m = 3;
    const model = new LinearModel(d * m, m, randomArray(stream, d));
    const phi = randomArray(stream, d * m);
    const scores = new Float32Array(m);
    const logPi = (): number => {
      model.evaluate(phi, scores);
      let max = -Infinity;
      for (const s of scores) max = Math.max(max, s);
      let z = 0;
      for (const s of scores) z += Math.exp(s - max);
      return scores[1] - max - Math.log(z);
    };
    model.evaluate(phi, scores);
    const exps = Array.from(scores, (s) => Math.exp(s));
    const total = exps.reduce((a, b) => a + b, 0);
    const weights = new Float32Array(m);
    for (let k = 0; k < m; k++) weights[k] = (k === 1 ? 1 : 0) - exps[k] / total;
    const grad = new Float32Array(d);
    model.gradient(phi, weights, grad);
    const w0 = Float32Array.from(model.parameters());
    for (let j = 0; j < d; j++) {
      const w = Float32Array.from(w0);
      w[j] = w0[j] + 1e-2;
      const hi = w[j];
      model.setParameters(w);
      const lp = logPi();
      w[j] = w0[j] - 1e-2;
      const lo = w[j];
      model.setParameters(w);
      const lm = logPi();
      expect(Math.abs(grad[j] - (lp - lm) / (hi - lo))).toBeLessThan(2e-3);
    }
  });

  it('parameters() is the live vector and round-trips bitwise', () => {
    const stream = RandomStream.create(7, 'linear-params');
    const model = new LinearModel(8, 2);
    expect(model.parameterCount).toBe(4);
    expect(Array.from(model.parameters())).toEqual([0, 0, 0, 0]);
    const values = randomArray(stream, 4);
    values[2] = -0; // bit patterns, not just values
    model.setParameters(values);
    const live = model.parameters();
    expect(new Uint32Array(live.buffer, live.byteOffset, 4)).toEqual(new Uint32Array(values.buffer));
    values[0] = 123; // the model copied
    expect(live[0]).not.toBe(123);
    const direction = randomArray(stream, 4);
    const expected = Float32Array.from(live, (v, i) => v + 0.5 * direction[i]);
    model.addScaled(0.5, direction);
    expect(model.parameters()).toBe(live); // same object, updated in place
    expect(live).toEqual(expected);
  });

  it('rejects an input size that is not a multiple of the output size, and short arrays', () => {
    expect(() => new LinearModel(7, 2)).toThrow(/multiple of outputSize/);
    expect(() => new LinearModel(6, 2, new Float32Array(4))).toThrow(/3 expected/);
    const model = new LinearModel(6, 2);
    expect(() => model.evaluate(new Float32Array(5), new Float32Array(2))).toThrow(/evaluate/);
    expect(() => model.setParameters(new Float32Array(4))).toThrow(/setParameters/);
  });
});
