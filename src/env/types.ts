/**
 * The Environment interface. Every agent keeps its own replica; replicas built from the same
 * config and seed and stepped with the same joint actions agree on every state, bit for bit.
 *
 * States are opaque values `S` returned by `observe()`; they stay valid after the environment
 * moves on (an integer for finite MDPs, a fresh array for continuous worlds), because learners
 * need features of s_t while the replica is already at s_{t+1} or s_{t+2}.
 */

/** One action index per agent: joint[i] = a^i, 0 <= a^i < actionCounts[i]. */
export type JointAction = Int32Array;

/** JSON-serialisable replica state: restore(save()) gives the identical continuation. */
export type EnvironmentSnapshot = Readonly<Record<string, unknown>> & { readonly kind: string };

export interface Environment<S = unknown> {
  readonly kind: string;
  readonly agentCount: number;
  /** |A^i| for each agent i. */
  readonly actionCounts: readonly number[];
  /** dim φ(s, a): critic features over state and joint action (Alg. 1 critic, Alg. 2 reward model R̄). */
  readonly criticFeatureSize: number;
  /** dim ψ(s): state features (Alg. 2 state-value critic V, and the input of neural models). */
  readonly stateFeatureSize: number;
  /** dim φ^i(s, b): actor features of agent i's action b in state s (linear softmax policies). */
  readonly actorFeatureSize: number;
  /** Number of transitions taken since reset (t of the current state s_t). */
  readonly time: number;

  /** Back to s_0 as determined by the environment's seed; time = 0. */
  reset(): void;
  /** The current global state s_t (an immutable value). */
  observe(): S;
  /** Move to s_{t+1} under the joint action a_t. Rewards of this transition via reward(). */
  step(joint: JointAction): void;
  /** r^i_{t+1} of the last step (noise included). Undefined before the first step. */
  reward(agent: number): number;

  /** φ(s, a) into out (length criticFeatureSize). */
  criticFeatures(state: S, joint: JointAction, out: Float32Array): void;
  /** ψ(s) into out (length stateFeatureSize). */
  stateFeatures(state: S, out: Float32Array): void;
  /** φ^i(s, b) into out (length actorFeatureSize). */
  actorFeatures(state: S, agent: number, action: number, out: Float32Array): void;

  /** Unsigned 32-bit hash of (time, state): replicas compare it to detect desync. */
  stateHash(): number;
  save(): EnvironmentSnapshot;
  /** Throws a clear error if the snapshot is not this environment's kind or shape. */
  restore(snapshot: EnvironmentSnapshot): void;
}

/**
 * A finite MDP whose tables can be enumerated: what exact evaluation (J(θ), J*) needs.
 * States are integers 0..stateCount-1; joint actions are indexed a = Σ_i a^i · Π_{j<i} n_j
 * (agent 0 least significant).
 */
export interface FiniteMdp extends Environment<number> {
  readonly stateCount: number;
  readonly jointActionCount: number;
  /** P(s' | s, a) for every s' into out (length stateCount). */
  transitionRow(state: number, jointIndex: number, out: Float64Array): void;
  /** Mean reward R^i(s, a) (without noise). */
  meanReward(state: number, jointIndex: number, agent: number): number;
}
