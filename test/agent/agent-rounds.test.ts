// The Agent's round machine on its own: call order, what counts as arrived, desync detection.
// Messages are handed to the agent directly (no transport), so each case controls what arrives.
import { describe, expect, it } from 'vitest';
import { Agent, DesyncError } from '../../src/agent/agent.js';
import { networkedMdpFactory } from '../../src/env/networked-mdp.js';
import { createLearner, type LearnerOptions } from '../../src/learn/index.js';
import { makeLinearModel } from '../../src/learn/model-maker.js';
import { createTopology } from '../../src/topology/topology.js';
import type { ActionMessage, ShareMessage, Transport } from '../../src/net/transport.js';

const AGENTS = 3;

const mdp = () => networkedMdpFactory({ seed: 1, agents: AGENTS, states: 3, actions: 2 })();

function learnerOptions(id: number): LearnerOptions {
  return {
    agent: id,
    runSeed: 5,
    critic: { kind: 'linear' },
    actor: { kind: 'linear' },
    criticSchedule: { kind: 'constant', value: 0.1 },
    actorSchedule: { kind: 'constant', value: 0.01 },
    makeModel: makeLinearModel,
  };
}

/** Agent `id` of a 3-agent run on a complete graph (Algorithm 2: action lead 1). */
function agentOf(id: number, steps = 20): Agent {
  const env = mdp();
  const learner = createLearner(2, env, learnerOptions(id));
  return new Agent({
    agent: id,
    env,
    learner,
    topology: createTopology({ family: 'complete' }, AGENTS, 5),
    consensusRule: 'metropolis',
    rewardMode: 'private',
    steps,
    metricsEvery: 10,
  });
}

/** An agent attached to a transport that only records what it publishes (and says it echoes own actions, or not). */
function capturing(id: number, echoesOwnActions = false) {
  const agent = agentOf(id);
  const published = { actions: [] as ActionMessage[], shares: [] as ShareMessage[] };
  const transport: Transport = {
    agent: id,
    stats: { messagesIn: 0, messagesOut: 0, rejected: 0, bytesOut: 0 },
    echoesOwnActions,
    start: async () => undefined,
    stop: async () => undefined,
    publishAction: (message) => published.actions.push(message),
    publishShare: (message) => published.shares.push(message),
  };
  agent.attach(transport);
  const shareSize = createLearner(2, mdp(), learnerOptions(id)).shareSize;
  return { agent, published, shareSize };
}

/** Every replica's state hash at round 0 (same seed, same s_0). */
function hashAtStart(): number {
  return mdp().stateHash();
}

describe('Agent rounds', () => {
  it('refuses calls out of order, naming the agent and round', () => {
    const agent = agentOf(1);
    expect(() => agent.completeRound()).toThrow(/agent 1: completeRound before beginRound at round 0/);
    expect(() => agent.drawAndPublish()).toThrow(/agent 1: drawAndPublish before learnLocally at round 0/);
    expect(() => agent.advanceRound()).toThrow(/agent 1: advanceRound before mixRound at round 0/);
    agent.learnLocally();
    expect(() => agent.learnLocally()).toThrow(/agent 1: beginRound out of order at round 0/);
    agent.drawAndPublish();
    expect(() => agent.beginRound()).toThrow(/out of order/);
    // Only its own action is in: the round cannot complete.
    expect(agent.roundReady()).toBe(false);
    expect(agent.awaitedActions()).toEqual([0, 2]);
    expect(() => agent.mixRound()).toThrow(/agent 1: round 0 completed without every action \(awaiting 0, 2\)/);
  });

  it('takes a batch of actions like one message per sender, keeping the first copy of each', () => {
    const hash = hashAtStart();
    const agent = agentOf(0);
    agent.beginRound();
    agent.onAction({ agent: 2, step: 0, action: 1, stateHash: hash });
    // A batch that repeats agent 2 (ignored: the first copy stays) and brings agent 1.
    agent.onActions(0, Uint8Array.from([0, 1, 1]), Int32Array.from([0, 1, 0]), Uint32Array.from([0, hash, hash]), 2);
    expect(agent.awaitedActions()).toEqual([]);
    expect(agent.roundReady()).toBe(true);
    agent.completeRound();
    const snapshot = agent.snapshot();
    expect(snapshot.joints[0].slice(1)).toEqual([1, 1]); // agent 1's 1 from the batch, agent 2's 1 from its message
  });

  it('takes a whole round and a board of shares by reference, and later copies count as duplicates', () => {
    const hash = hashAtStart();
    const { agent, published, shareSize } = capturing(0);
    agent.beginRound(); // round 0 (Algorithm 2, lead 1): actions only
    const own = published.actions[0].action;
    // Every agent's action, its own as it drew it, in arrays longer than N (as a hub's may be).
    agent.onActions(0, Uint8Array.from([1, 1, 1, 0]), Int32Array.from([own, 1, 0, 99]), Uint32Array.from([hash, hash, hash, 0]), 3);
    expect(agent.roundReady()).toBe(true);
    agent.onAction({ agent: 1, step: 0, action: 0, stateHash: hash }); // a late copy: ignored
    agent.completeRound();
    expect(agent.snapshot().joints[0]).toEqual([own, 1, 0]);

    // Round 1 mixes iteration 0: a board with both neighbours' shares completes it.
    agent.beginRound();
    const next = published.actions[1];
    agent.onActions(1, Uint8Array.from([1, 1, 1]), Int32Array.from([next.action, 0, 0]), Uint32Array.from([next.stateHash, next.stateHash, next.stateHash]), 3);
    expect(agent.awaitedShares()).toEqual([1, 2]);
    const share = (j: number) => ({ agent: j, step: 0, share: new Float32Array(shareSize).fill(j) });
    agent.onShares(0, [undefined, share(1), share(2)]);
    expect(agent.awaitedShares()).toEqual([]);
    expect(agent.roundReady()).toBe(true);
    agent.completeRound();
    expect(agent.round).toBe(2);
  });

  it('records its own action at publishing, unless the transport hands it back (echoesOwnActions)', () => {
    const hash = hashAtStart();
    const recording = capturing(0);
    const echoed = capturing(0, true);
    for (const { agent } of [recording, echoed]) {
      agent.beginRound();
      agent.onAction({ agent: 1, step: 0, action: 0, stateHash: hash });
      agent.onAction({ agent: 2, step: 0, action: 1, stateHash: hash });
    }
    expect(recording.agent.roundReady()).toBe(true);
    // Over an echoing transport its own action is awaited like the others' until it comes back.
    expect(echoed.agent.awaitedActions()).toEqual([0]);
    expect(() => echoed.agent.completeRound()).toThrow(/agent 0: round 0 completed without every action \(awaiting 0\)/);
    echoed.agent.onAction(echoed.published.actions[0]);
    expect(echoed.agent.roundReady()).toBe(true);
    for (const { agent } of [recording, echoed]) agent.completeRound();
    expect(echoed.agent.snapshot().joints[0]).toEqual(recording.agent.snapshot().joints[0]);
  });

  it('ignores actions of rounds already past or too far ahead, and a reused inbox slot starts empty', () => {
    const hash = hashAtStart();
    const agent = agentOf(0);
    // Round 4 uses the same inbox slot as round 0 (four slots): what arrives for round 0 must not count for 4.
    agent.onAction({ agent: 1, step: 0, action: 0, stateHash: hash });
    agent.onAction({ agent: 1, step: 9, action: 0, stateHash: hash }); // too far ahead: dropped
    agent.beginRound();
    agent.onAction({ agent: 2, step: 0, action: 0, stateHash: hash });
    agent.completeRound();
    agent.onAction({ agent: 1, step: 0, action: 0, stateHash: hash }); // past: dropped
    expect(agent.round).toBe(1);
    expect(agent.awaitedActions()).toEqual([0, 1, 2]);
  });

  it('stops with a DesyncError naming the agents whose state hash differs', () => {
    const hash = hashAtStart();
    const agent = agentOf(0);
    agent.beginRound();
    agent.onAction({ agent: 1, step: 0, action: 0, stateHash: hash });
    agent.onAction({ agent: 2, step: 0, action: 0, stateHash: (hash + 1) >>> 0 });
    const error = (() => {
      try {
        agent.completeRound();
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DesyncError);
    expect((error as DesyncError).agents).toEqual([2]);
    expect((error as Error).message).toMatch(/desync at step 0: .*agent\(s\) 2/);
  });
});
