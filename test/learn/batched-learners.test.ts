// The batched learners (all agents' MLPs in batched tensor ops) compute the same math as N
// per-agent Algorithm1Learner / Algorithm2Learner objects: parameters agree to float32 rounding
// over the first 100 iterations, on the networked topology and on both baselines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { loadScenario, loadTopology } from '../../src/run/config.js';
import type { ScenarioConfig } from '../../src/run/config-schema.js';
import { environmentFactory, learnerFor, modelMakerFor, runParts, type TopologyChoice } from '../../src/run/experiment.js';
import { runReference } from '../../src/learn/reference.js';
import { simulateBatchedRun } from '../../src/run/batched-sim.js';
import type { Learner } from '../../src/learn/learner.js';

const STEPS = 100;

/** Per iteration, every agent's named parameter vectors. */
type Trace = Record<string, Float32Array>[][];

async function perAgentTrace(scenario: ScenarioConfig, choice: TopologyChoice, seed: number): Promise<Trace> {
  const env = environmentFactory(scenario, seed)();
  const parts = runParts(choice, env.agentCount, seed);
  const makeModel = await modelMakerFor(scenario);
  const learners: Learner[] = Array.from({ length: env.agentCount }, (_, i) => learnerFor(scenario, env, i, seed, parts.rewardMode, makeModel));
  const trace: Trace = [];
  runReference({
    env,
    learners,
    topology: parts.topology,
    consensusRule: parts.consensusRule,
    steps: STEPS,
    teamAverageReward: parts.rewardMode === 'team-average',
    onIteration: () => {
      trace.push(learners.map((l) => Object.fromEntries(Object.entries(l.save().parameters).map(([k, v]) => [k, Float32Array.from(v)]))));
    },
  });
  for (const l of learners) l.dispose();
  return trace;
}

async function batchedTrace(scenario: ScenarioConfig, choice: TopologyChoice, seed: number): Promise<Trace> {
  const trace: Trace = [];
  const { learners } = await simulateBatchedRun(scenario, choice, seed, {
    uniformBaseline: false,
    onIteration: (_t, batched) => trace.push(batched.parameters()),
  });
  learners.dispose();
  return trace;
}

/**
 * Largest |a − b| / max(|a|, |b|, rms) over every parameter of every agent and iteration, with rms
 * the root mean square of that parameter vector: relative error, measured against the vector's
 * typical size for the entries that happen to be near zero (an entry of 1e-4 carries the same
 * absolute float32 noise as one of 0.1 — two unbatched runs on cpu and wasm differ by ~4e-7 at
 * t = 100 too).
 */
function worstRelative(a: Trace, b: Trace): { worst: number; where: string } {
  let worst = 0;
  let where = '';
  expect(b.length).toBe(a.length);
  for (let t = 0; t < a.length; t++) {
    for (let i = 0; i < a[t].length; i++) {
      for (const name of Object.keys(a[t][i])) {
        const x = a[t][i][name];
        const y = b[t][i][name];
        expect(y.length).toBe(x.length);
        let squares = 0;
        for (let k = 0; k < x.length; k++) squares += x[k] * x[k];
        const rms = Math.sqrt(squares / x.length);
        for (let k = 0; k < x.length; k++) {
          const scale = Math.max(Math.abs(x[k]), Math.abs(y[k]), rms);
          const e = Math.abs(x[k] - y[k]) / scale;
          if (e > worst) {
            worst = e;
            where = `t=${t} agent ${i} ${name}[${k}]: ${x[k]} vs ${y[k]}`;
          }
        }
      }
    }
  }
  return { worst, where };
}

const small = (algorithm: 1 | 2): ScenarioConfig => ({
  ...loadScenario('scenarios/coop-nav-3.yaml'),
  algorithm,
  steps: STEPS,
});

describe.each(['wasm', 'cpu'] as const)('batched learners on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });
  afterAll(() => {});
  for (const algorithm of [1, 2] as const) {
    for (const choice of ['ring', 'centralized', 'independent', 'ring, step sizes ×10'] as const) {
      it(`Algorithm ${algorithm}, ${choice}: parameters agree with per-agent learners over ${STEPS} iterations`, async () => {
        const shipped = small(algorithm);
        const scenario: ScenarioConfig = {
          ...shipped,
          backend,
          // Larger steps move the parameters further (and their rounding differences with them).
          stepSizes: choice.endsWith('×10') ? { critic: { kind: 'constant', value: 0.01 }, actor: { kind: 'constant', value: 0.01 } } : shipped.stepSizes,
        };
        const topology: TopologyChoice = choice.startsWith('ring') ? loadTopology('topologies/ring.yaml') : (choice as 'centralized' | 'independent');
        const reference = await perAgentTrace(scenario, topology, 7);
        const batched = await batchedTrace(scenario, topology, 7);
        const { worst, where } = worstRelative(reference, batched);
        expect(tf.getBackend()).toBe(backend);
        if (!choice.endsWith('×10')) {
          expect(worst, where).toBeLessThan(1e-5);
          return;
        }
        // With 10× the shipped step sizes the learning dynamics amplify float32 rounding (one agent's
        // parameters drift apart exponentially from t ≈ 60 on): the per-agent learners on the other
        // backend then differ from these as much. The batched learners may differ no more than that.
        const other = backend === 'wasm' ? 'cpu' : 'wasm';
        await selectBackend(other);
        const otherBackend = await perAgentTrace({ ...scenario, backend: other }, topology, 7);
        await selectBackend(backend);
        const intrinsic = worstRelative(reference, otherBackend).worst;
        expect(worst, where).toBeLessThan(Math.max(1e-5, 4 * intrinsic));
      });
    }
  }
});
