import { beforeAll, describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { selectBackend } from '../../src/model/backend.js';
import { createModel } from '../../src/model/factory.js';
import { LinearModel } from '../../src/model/linear.js';
import { MlpModel } from '../../src/model/mlp.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('createModel', () => {
  it('builds a linear model with blocks of inputSize / outputSize features', () => {
    const model = createModel({ kind: 'linear' }, 12, 3, {});
    expect(model).toBeInstanceOf(LinearModel);
    expect([model.inputSize, model.outputSize, model.parameterCount]).toEqual([12, 3, 4]);
    expect(Array.from(model.parameters())).toEqual([0, 0, 0, 0]);
    const init = Float32Array.of(1, 2, 3, 4);
    expect(Array.from(createModel({ kind: 'linear' }, 12, 3, { initialParameters: init }).parameters())).toEqual([1, 2, 3, 4]);
    expect(() => createModel({ kind: 'linear' }, 10, 3, {})).toThrow(/multiple of outputSize/);
  });

  it('builds a seeded MLP: the same stream gives the same parameters', () => {
    const spec = { kind: 'mlp', hidden: [8, 8], activation: 'tanh' } as const;
    const a = RandomStream.create(5, 'init/0');
    const b = RandomStream.create(5, 'init/0');
    const c = RandomStream.create(5, 'init/1');
    const m1 = createModel(spec, 6, 2, { random: () => a.nextFloat() });
    const m2 = createModel(spec, 6, 2, { random: () => b.nextFloat() });
    const m3 = createModel(spec, 6, 2, { random: () => c.nextFloat() });
    expect(m1).toBeInstanceOf(MlpModel);
    expect(m1.parameterCount).toBe(6 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
    expect(m1.parameters()).toEqual(m2.parameters());
    expect(m1.parameters()).not.toEqual(m3.parameters());
    const m4 = createModel(spec, 6, 2, { initialParameters: m3.parameters() });
    expect(m4.parameters()).toEqual(m3.parameters());
    expect(() => createModel(spec, 6, 2, {})).toThrow(/seeded random/);
    for (const m of [m1, m2, m3, m4]) m.dispose();
  });

  it('rejects an unknown kind', () => {
    expect(() => createModel({ kind: 'cnn' } as never, 4, 1, {})).toThrow(/unknown model kind 'cnn'/);
  });
});
