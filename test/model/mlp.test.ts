import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { selectBackend } from '../../src/model/backend.js';
import { MlpModel, glorotUniformParameters, mlpParameterCount, type Activation } from '../../src/model/mlp.js';

function randomArray(stream: RandomStream, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * stream.nextFloat() - 1) * scale;
  return a;
}

function activate(activation: Activation, z: number): number {
  if (activation === 'tanh') return Math.tanh(z);
  if (activation === 'relu') return Math.max(0, z);
  return 1 / (1 + Math.exp(-z));
}

/**
 * Hand-written float64 forward pass of the documented layout: per layer W row-major [in][out],
 * then b; hidden layers activated, output linear.
 */
function referenceForward(
  params: ArrayLike<number>,
  sizes: readonly number[],
  activation: Activation,
  input: ArrayLike<number>,
): number[] {
  let h = Array.from(input);
  let offset = 0;
  for (let l = 1; l < sizes.length; l++) {
    const nIn = sizes[l - 1];
    const nOut = sizes[l];
    const biasOffset = offset + nIn * nOut;
    const z: number[] = [];
    for (let j = 0; j < nOut; j++) {
      let s = params[biasOffset + j];
      for (let i = 0; i < nIn; i++) s += h[i] * params[offset + i * nOut + j];
      z.push(l < sizes.length - 1 ? activate(activation, s) : s);
    }
    h = z;
    offset = biasOffset + nOut;
  }
  expect(offset).toBe(params.length);
  return h;
}

function weighted(outputs: readonly number[], weights: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < outputs.length; k++) s += weights[k] * outputs[k];
  return s;
}

const inputSize = 4;
const hidden = [5, 4];
const outputSize = 3;
const sizes = [inputSize, ...hidden, outputSize];

function makeModel(activation: Activation, seed: number): MlpModel {
  const stream = RandomStream.create(seed, 'mlp-init');
  const model = new MlpModel({ inputSize, outputSize, hidden, activation, random: () => stream.nextFloat() });
  // Random (non-zero) biases too, so the bias part of the layout is exercised.
  const params = Float32Array.from(model.parameters());
  for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = (stream.nextFloat() - 0.5) * 0.4;
  model.setParameters(params);
  return model;
}

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('MlpModel', () => {
  it('has the documented parameter count and a deterministic seeded Glorot-uniform init', () => {
    expect(mlpParameterCount(4, [5, 4], 3)).toBe(4 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    const a = RandomStream.create(1, 'x');
    const b = RandomStream.create(1, 'x');
    const m1 = new MlpModel({ inputSize: 4, outputSize: 3, hidden, activation: 'tanh', random: () => a.nextFloat() });
    const m2 = new MlpModel({ inputSize: 4, outputSize: 3, hidden, activation: 'tanh', random: () => b.nextFloat() });
    expect(m1.parameterCount).toBe(mlpParameterCount(4, hidden, 3));
    expect(m1.parameters()).toEqual(m2.parameters());
    const p = m1.parameters();
    // Layer 1: 20 weights within the Glorot limit, then 5 zero biases.
    const limit1 = Math.sqrt(6 / (4 + 5));
    for (let i = 0; i < 20; i++) expect(Math.abs(p[i])).toBeLessThanOrEqual(limit1);
    expect(Array.from(p.subarray(20, 25))).toEqual([0, 0, 0, 0, 0]);
    expect(new Set(p.subarray(0, 20)).size).toBe(20);
    // The same values from the exported helper.
    const c = RandomStream.create(1, 'x');
    expect(glorotUniformParameters(4, hidden, 3, () => c.nextFloat())).toEqual(p);
    m1.dispose();
    m2.dispose();
    expect(() => new MlpModel({ inputSize: 4, outputSize: 3, hidden, activation: 'tanh' })).toThrow(/seeded random/);
  });

  for (const activation of ['tanh', 'relu', 'sigmoid'] as const) {
    it(`evaluate agrees with a float64 forward pass of the documented layout (${activation})`, () => {
      const model = makeModel(activation, 11);
      const stream = RandomStream.create(11, `mlp-eval-${activation}`);
      const out = new Float32Array(outputSize);
      for (let trial = 0; trial < 10; trial++) {
        const x = randomArray(stream, inputSize, 2);
        model.evaluate(x, out);
        const ref = referenceForward(model.parameters(), sizes, activation, x);
        for (let k = 0; k < outputSize; k++) expect(Math.abs(out[k] - ref[k])).toBeLessThan(1e-5);
      }
      model.dispose();
    });
  }

  for (const activation of ['tanh', 'relu', 'sigmoid'] as const) {
    it(`gradient matches float64 central differences of the reference (${activation}, 2 hidden layers, 3 outputs)`, () => {
      const model = makeModel(activation, 23);
      const stream = RandomStream.create(23, `mlp-fd-${activation}`);
      const grad = new Float32Array(model.parameterCount);
      const eps = 1e-6;
      for (let trial = 0; trial < 4; trial++) {
        const x = randomArray(stream, inputSize, 2);
        const ow = randomArray(stream, outputSize, 1.5);
        model.gradient(x, ow, grad);
        const w = Float64Array.from(model.parameters());
        let maxErr = 0;
        for (let i = 0; i < w.length; i++) {
          const saved = w[i];
          w[i] = saved + eps;
          const fPlus = weighted(referenceForward(w, sizes, activation, x), ow);
          w[i] = saved - eps;
          const fMinus = weighted(referenceForward(w, sizes, activation, x), ow);
          w[i] = saved;
          const fd = (fPlus - fMinus) / (2 * eps);
          const err = Math.abs(grad[i] - fd) / (1 + Math.abs(fd));
          maxErr = Math.max(maxErr, err);
        }
        expect(maxErr).toBeLessThan(1e-5);
      }
      model.dispose();
    });
  }

  it('gradient matches float32 central differences of its own evaluate (tanh, eps 1e-2)', () => {
    const model = makeModel('tanh', 31);
    const stream = RandomStream.create(31, 'mlp-fd32');
    const x = randomArray(stream, inputSize, 2);
    const ow = randomArray(stream, outputSize, 1.5);
    const grad = new Float32Array(model.parameterCount);
    model.gradient(x, ow, grad);
    const out = new Float32Array(outputSize);
    const f = (): number => {
      model.evaluate(x, out);
      return weighted(Array.from(out), ow);
    };
    const w0 = Float32Array.from(model.parameters());
    const w = Float32Array.from(w0);
    for (let i = 0; i < w.length; i++) {
      w[i] = w0[i] + 1e-2;
      const hi = w[i];
      model.setParameters(w);
      const fPlus = f();
      w[i] = w0[i] - 1e-2;
      const lo = w[i];
      model.setParameters(w);
      const fMinus = f();
      w[i] = w0[i];
      const fd = (fPlus - fMinus) / (hi - lo);
      expect(Math.abs(grad[i] - fd)).toBeLessThan(2e-3 * (1 + Math.abs(fd)));
    }
    model.dispose();
  });

  it('works without hidden layers (an affine map)', () => {
    const stream = RandomStream.create(37, 'mlp-affine');
    const params = randomArray(stream, 3 * 2 + 2);
    const model = new MlpModel({ inputSize: 3, outputSize: 2, hidden: [], activation: 'relu', initialParameters: params });
    const x = randomArray(stream, 3);
    const ow = randomArray(stream, 2);
    const out = new Float32Array(2);
    model.evaluate(x, out);
    const ref = referenceForward(params, [3, 2], 'relu', x);
    for (let k = 0; k < 2; k++) expect(Math.abs(out[k] - ref[k])).toBeLessThan(1e-6);
    const grad = new Float32Array(8);
    model.gradient(x, ow, grad);
    const expected = [...Array.from({ length: 6 }, (_, n) => x[Math.floor(n / 2)] * ow[n % 2]), ow[0], ow[1]];
    for (let i = 0; i < 8; i++) expect(Math.abs(grad[i] - expected[i])).toBeLessThan(1e-6);
    model.dispose();
  });

  it('evaluateBatch and gradientBatch agree with per-sample calls', () => {
    const model = makeModel('relu', 41);
    const stream = RandomStream.create(41, 'mlp-batch');
    const batch = 5;
    const xs = randomArray(stream, batch * inputSize, 2);
    const ows = randomArray(stream, batch * outputSize);
    const outs = new Float32Array(batch * outputSize);
    model.evaluateBatch(xs, batch, outs);
    const one = new Float32Array(outputSize);
    const sum = new Float64Array(model.parameterCount);
    const g = new Float32Array(model.parameterCount);
    for (let b = 0; b < batch; b++) {
      model.evaluate(xs.subarray(b * inputSize, (b + 1) * inputSize), one);
      for (let k = 0; k < outputSize; k++) expect(Math.abs(outs[b * outputSize + k] - one[k])).toBeLessThan(1e-6);
      model.gradient(xs.subarray(b * inputSize, (b + 1) * inputSize), ows.subarray(b * outputSize, (b + 1) * outputSize), g);
      for (let i = 0; i < g.length; i++) sum[i] += g[i];
    }
    const gb = new Float32Array(model.parameterCount);
    model.gradientBatch(xs, ows, batch, gb);
    for (let i = 0; i < gb.length; i++) expect(Math.abs(gb[i] - sum[i])).toBeLessThan(1e-5 * (1 + Math.abs(sum[i])));
    model.dispose();
  });

  it('round-trips the flat parameters bitwise, and evaluate follows setParameters/addScaled', () => {
    const model = makeModel('tanh', 53);
    const stream = RandomStream.create(53, 'mlp-params');
    const x = randomArray(stream, inputSize);
    const out = new Float32Array(outputSize);
    model.evaluate(x, out); // upload the initial tensors, so the next checks catch stale ones
    const values = randomArray(stream, model.parameterCount);
    values[3] = -0;
    model.setParameters(values);
    const live = model.parameters();
    expect(new Uint32Array(live.buffer, live.byteOffset, live.length)).toEqual(new Uint32Array(values.buffer));
    values[0] = 99; // the model copied
    expect(live[0]).not.toBe(99);
    values[0] = live[0];
    model.evaluate(x, out);
    let ref = referenceForward(values, sizes, 'tanh', x);
    for (let k = 0; k < outputSize; k++) expect(Math.abs(out[k] - ref[k])).toBeLessThan(1e-5);

    const direction = randomArray(stream, model.parameterCount);
    const expected = Float32Array.from(live, (v, i) => v + -0.3 * direction[i]);
    model.addScaled(-0.3, direction);
    expect(model.parameters()).toBe(live);
    expect(live).toEqual(expected);
    model.evaluate(x, out);
    ref = referenceForward(expected, sizes, 'tanh', x);
    for (let k = 0; k < outputSize; k++) expect(Math.abs(out[k] - ref[k])).toBeLessThan(1e-5);
    // Mutating the input after a call has no effect on the model (cpu tensors share buffers).
    x.fill(0);
    model.evaluate(randomArray(stream, inputSize), out);
    expect(live).toEqual(expected);
    model.dispose();
  });

  it('does not leak tensors: the live count after 1,000 calls equals that after 10', () => {
    const model = makeModel('relu', 61);
    const stream = RandomStream.create(61, 'mlp-leak');
    const x = randomArray(stream, inputSize);
    const ow = randomArray(stream, outputSize);
    const out = new Float32Array(outputSize);
    const grad = new Float32Array(model.parameterCount);
    const xs = randomArray(stream, 3 * inputSize);
    const outs = new Float32Array(3 * outputSize);
    const step = (): void => {
      model.gradient(x, ow, grad);
      model.evaluate(x, out);
      model.addScaled(1e-4, grad);
      model.evaluateBatch(xs, 3, outs);
    };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    const after10 = tf.memory().numTensors;
    for (let i = 0; i < 990; i++) step();
    const after1000 = tf.memory().numTensors;
    expect(after1000).toBe(after10);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose(); // idempotent
    expect(() => model.evaluate(x, out)).toThrow(/after dispose/);
  });

  it('rejects wrong sizes', () => {
    const model = makeModel('tanh', 71);
    expect(() => model.setParameters(new Float32Array(3))).toThrow(/setParameters/);
    expect(() => model.evaluate(new Float32Array(inputSize - 1), new Float32Array(outputSize))).toThrow(/evaluate/);
    expect(() => model.gradient(new Float32Array(inputSize), new Float32Array(outputSize), new Float32Array(2))).toThrow(
      /paramGrad/,
    );
    expect(
      () => new MlpModel({ inputSize, outputSize, hidden, activation: 'tanh', initialParameters: new Float32Array(5) }),
    ).toThrow(/initial parameters/);
    model.dispose();
  });
});
