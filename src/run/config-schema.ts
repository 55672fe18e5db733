/**
 * Schemas of the experiment files: scenarios (what to learn, how) and topologies (who talks to
 * whom, how they average). zod 4 strict objects: an unknown field is an error, never ignored.
 *
 * Every leaf carries an "expected …" message; config.ts turns the first zod issue into one line
 * `<file>: <field.path>: expected …, got …`. Defaults are the paper's (shared/ALGORITHMS.md).
 *
 * This file only declares; loading, path resolution and error formatting live in config.ts.
 */
import * as z from 'zod';
import type { ModelSpec } from '../model/types.js';
import type { BackendPreference } from '../model/backend.js';

// ---------------------------------------------------------------------------------------------
// Output types (what the rest of netac consumes). The schemas below are checked against these at
// compile time (see the `_check*` lines), so the two cannot drift apart.
// ---------------------------------------------------------------------------------------------

/** A step-size schedule: constant, or c·(t+1)^(−p). */
export type ScheduleConfig =
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'decaying'; readonly c: number; readonly p: number };

export interface NetworkedMdpConfig {
  readonly kind: 'networked-mdp';
  readonly agents: number;
  readonly states: number;
  readonly actionsPerAgent: number;
  readonly criticFeatures: number;
  readonly stateFeatures: number;
  readonly actorFeatures: number;
  readonly rewardMax: number;
  readonly rewardNoise: number;
}

export interface ExplicitMdpConfig {
  readonly kind: 'explicit-mdp';
  /** Absolute path of the MDP file (the scenario gave it relative to its own folder). */
  readonly file: string;
  /** The parsed MDP file (unvalidated JSON: src/env/explicit-mdp.ts validates it). Set by
   *  loadScenario; undefined after parseScenario alone. */
  readonly mdp?: unknown;
}

export interface CoopNavigationConfig {
  readonly kind: 'coop-navigation';
  readonly agents: number;
  readonly episodeLength: number;
  /** Dynamics and reward options of src/env/coop-navigation.ts (its defaults when absent). */
  readonly damping?: number;
  readonly acceleration?: number;
  readonly dt?: number;
  readonly agentRadius?: number;
  readonly collisionPenalty?: number;
  /** c_i per agent (default: drawn from the scenario seed in [0.5, 1.5)). */
  readonly rewardScales?: readonly number[];
}

export type EnvironmentConfig = NetworkedMdpConfig | ExplicitMdpConfig | CoopNavigationConfig;

export interface ScenarioConfig {
  readonly name: string;
  readonly description?: string;
  readonly environment: EnvironmentConfig;
  readonly algorithm: 1 | 2;
  readonly model: { readonly critic: ModelSpec; readonly actor: ModelSpec };
  readonly stepSizes: { readonly critic: ScheduleConfig; readonly actor: ScheduleConfig };
  /** Initial parameters uniform in ±scale (0: all zeros). */
  readonly initialization: { readonly criticScale: number; readonly actorScale: number };
  readonly steps: number;
  readonly metricsEvery: number;
  readonly seed: number;
  /**
   * TensorFlow.js backend for MLP models (src/model/backend.ts): 'auto' (tfjs-node, else wasm,
   * else cpu) or one of them explicitly. Absent: 'auto'. Ignored by linear-only scenarios.
   */
  readonly backend?: BackendPreference;
}

/** Connectivity ratio 2|E|/(N(N−1)): a number in (0, 1], or "c/N" (resolve with resolveRatio). */
export type RatioConfig = number | `${number}/N`;

export type ConsensusConfig =
  | { readonly kind: 'metropolis' }
  | { readonly kind: 'equal-neighbour' }
  /** I − αL; alpha undefined: the max-degree rule α = 1/(1 + max degree). */
  | { readonly kind: 'laplacian'; readonly alpha?: number }
  /** Robust consensus (beyond the paper): per coordinate, drop the `trim` largest and `trim`
   *  smallest neighbour values, then average the rest with the agent's own. */
  | { readonly kind: 'trimmed-mean'; readonly trim: number }
  /** A fixed N×N row-stochastic matrix with a positive diagonal. */
  | { readonly kind: 'matrix'; readonly matrix: readonly (readonly number[])[] };

interface TopologyCommon {
  readonly name: string;
  readonly description?: string;
  /** Consensus rule; the file may write the three parameterless rules as plain strings. */
  readonly consensus: ConsensusConfig;
  /** Per-step deadline for neighbours' shares; null: wait for them (deterministic). */
  readonly shareDeadlineMs: number | null;
}

export type TopologyConfig = TopologyCommon &
  (
    | { readonly family: 'ring' | 'line' | 'star' | 'complete' | 'empty' }
    | { readonly family: 'grid'; readonly rows?: number; readonly columns?: number }
    | {
        readonly family: 'random';
        readonly ratio: RatioConfig;
        /** Draw a new G_t every this many steps. */
        readonly redrawEvery: number;
        /** Redraw until the graph is connected. */
        readonly connected: boolean;
      }
    | { readonly family: 'explicit'; readonly edges: readonly (readonly [number, number])[] }
  );

export type TopologyFamily = TopologyConfig['family'];

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

/** Words the formatter uses when a value is absent rather than wrong. */
export const expected = (what: string) => ({ error: `expected ${what}` });

export const positiveNumber = () => z.number(expected('a number > 0')).gt(0, expected('a number > 0'));
export const nonNegativeNumber = () => z.number(expected('a number >= 0')).min(0, expected('a number >= 0'));
export const intAtLeast = (min: number) =>
  z.int(expected(`an integer >= ${min}`)).min(min, expected(`an integer >= ${min}`));

const quoteList = (values: readonly (string | number)[]): string =>
  values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment), for
 *  "did you mean" hints on unknown fields: 'ratoi' is one edit from 'ratio'. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * A strict object whose unknown-field message lists what is allowed. `elsewhere` explains keys
 * that are valid in a sibling variant (e.g. `rows` is only for family 'grid').
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape, elsewhere: Readonly<Record<string, string>> = {}) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return 'expected a mapping of fields';
      const keys: string[] = issue.keys;
      const explained = keys.find((k) => Object.hasOwn(elsewhere, k));
      if (explained !== undefined) return `field '${explained}' ${elsewhere[explained]}`;
      const noun = keys.length === 1 ? 'unknown field' : 'unknown fields';
      const hint = keys.length === 1 ? closest(keys[0], known) : undefined;
      const suffix = hint !== undefined ? ` (did you mean '${hint}'?)` : ` (allowed: ${known.join(', ')})`;
      return `${noun} ${keys.map((k) => `'${k}'`).join(', ')}${suffix}`;
    },
  });
}

/** A union keyed by `key`; a wrong or missing key lists the allowed values. */
function keyedUnion<K extends string, Options extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(
  key: K,
  options: Options,
  values: readonly string[],
  notAnObject = `expected a mapping with ${key}: ${quoteList(values)}`,
) {
  return z.discriminatedUnion(key, options, {
    error: (issue) => (issue.code === 'invalid_union' ? `expected one of ${quoteList(values)}` : notAnObject),
  });
}

/** Names become folder names and report labels: keep them file-system safe. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const nameSchema = () =>
  z
    .string(expected("a name of letters, digits, '.', '_' or '-'"))
    .regex(NAME_PATTERN, expected("a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)"));

/** Labels the runner uses for baselines; a topology may not take them. */
export const BASELINE_LABELS = ['centralized', 'independent'] as const;

// ---------------------------------------------------------------------------------------------
// Scenario
// ---------------------------------------------------------------------------------------------

const ENVIRONMENT_KINDS = ['networked-mdp', 'explicit-mdp', 'coop-navigation'] as const;

const networkedMdpSchema = strictObject({
  kind: z.literal('networked-mdp'),
  agents: intAtLeast(1).default(20),
  states: intAtLeast(1).default(20),
  actionsPerAgent: intAtLeast(2).default(2),
  criticFeatures: intAtLeast(1).default(10),
  stateFeatures: intAtLeast(1).default(10),
  actorFeatures: intAtLeast(1).default(5),
  rewardMax: positiveNumber().default(4),
  rewardNoise: nonNegativeNumber().default(0.5),
});

const explicitMdpSchema = strictObject({
  kind: z.literal('explicit-mdp'),
  file: z
    .string(expected('a path to the MDP JSON file, relative to the scenario file'))
    .min(1, expected('a path to the MDP JSON file, relative to the scenario file')),
});

const coopNavigationSchema = strictObject({
  kind: z.literal('coop-navigation'),
  agents: intAtLeast(1).default(3),
  episodeLength: intAtLeast(1).default(50),
  damping: nonNegativeNumber()
    .lt(1, expected('a number in [0, 1)'))
    .optional(),
  acceleration: positiveNumber().optional(),
  dt: positiveNumber().optional(),
  agentRadius: nonNegativeNumber().optional(),
  collisionPenalty: nonNegativeNumber().optional(),
  rewardScales: z.array(positiveNumber(), expected('a list of numbers > 0, one per agent')).optional(),
});

const environmentSchema = keyedUnion(
  'kind',
  [networkedMdpSchema, explicitMdpSchema, coopNavigationSchema],
  ENVIRONMENT_KINDS,
);

const ACTIVATIONS = ['tanh', 'relu', 'sigmoid'] as const;
const BACKENDS = ['auto', 'tfjs-node', 'wasm', 'cpu'] as const satisfies readonly BackendPreference[];
const modelSchema = keyedUnion(
  'kind',
  [
    strictObject({ kind: z.literal('linear') }),
    strictObject({
      kind: z.literal('mlp'),
      hidden: z
        .array(intAtLeast(1), expected('a list of hidden layer sizes, e.g. [64, 64]'))
        .min(1, expected("at least one hidden layer (use kind: 'linear' for none)"))
        .default([64, 64]),
      activation: z.enum(ACTIVATIONS, expected(`one of ${quoteList(ACTIVATIONS)}`)).default('tanh'),
    }),
  ],
  ['linear', 'mlp'],
);

const scheduleSchema = keyedUnion(
  'kind',
  [
    strictObject({ kind: z.literal('constant'), value: positiveNumber() }),
    strictObject({ kind: z.literal('decaying'), c: positiveNumber(), p: nonNegativeNumber() }),
  ],
  ['constant', 'decaying'],
);

/** The paper's step sizes: β_ω,t = (t+1)^−0.65 (critic), β_θ,t = (t+1)^−0.85 (actor). */
export const PAPER_STEP_SIZES = {
  critic: { kind: 'decaying', c: 1, p: 0.65 },
  actor: { kind: 'decaying', c: 1, p: 0.85 },
} as const satisfies ScenarioConfig['stepSizes'];

export const scenarioSchema = strictObject({
  name: nameSchema().optional(),
  description: z.string(expected('a string')).optional(),
  environment: environmentSchema,
  algorithm: z.literal([1, 2], expected('1 or 2')).default(1),
  model: strictObject({
    critic: modelSchema.prefault({ kind: 'linear' }),
    actor: modelSchema.prefault({ kind: 'linear' }),
  }).prefault({}),
  stepSizes: strictObject({
    critic: scheduleSchema.prefault(PAPER_STEP_SIZES.critic),
    actor: scheduleSchema.prefault(PAPER_STEP_SIZES.actor),
  }).prefault({}),
  initialization: strictObject({
    criticScale: nonNegativeNumber().default(0),
    actorScale: nonNegativeNumber().default(0),
  }).prefault({}),
  steps: intAtLeast(1).default(20000),
  metricsEvery: intAtLeast(1).default(100),
  seed: intAtLeast(0).default(0),
  // No default written into the config: absent means 'auto' (keeps parsed scenarios unchanged).
  backend: z.enum(BACKENDS, expected(`one of ${quoteList(BACKENDS)}`)).optional(),
});

// ---------------------------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------------------------

export const TOPOLOGY_FAMILIES = ['ring', 'line', 'star', 'complete', 'grid', 'empty', 'random', 'explicit'] as const;
const CONSENSUS_NAMES = ['metropolis', 'equal-neighbour', 'laplacian'] as const;
const CONSENSUS_KINDS = [...CONSENSUS_NAMES, 'matrix', 'trimmed-mean'] as const;

const RATIO_OVER_N = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*\/\s*N\s*$/;
const RATIO_EXPECTED = 'a number in (0, 1] or a string "c/N" such as "4/N"';
const ratioSchema = z
  .union([z.number(), z.string()], {
    error: (issue) =>
      issue.input === undefined ? `expected ${RATIO_EXPECTED} (required when family is 'random')` : `expected ${RATIO_EXPECTED}`,
  })
  .superRefine((value, ctx) => {
  const ok =
    typeof value === 'number'
      ? value > 0 && value <= 1
      : RATIO_OVER_N.test(value) && Number(RATIO_OVER_N.exec(value)![1]) > 0;
  if (!ok) ctx.addIssue({ code: 'custom', message: `expected ${RATIO_EXPECTED}`, input: value });
});

const edgesSchema = z
  .array(
    z.tuple([intAtLeast(0), intAtLeast(0)], expected('a pair [i, j] of agent indices')),
    {
      error: (issue) =>
        issue.input === undefined
          ? "expected a list of pairs [i, j] of agent indices (required when family is 'explicit')"
          : 'expected a list of pairs [i, j] of agent indices',
    },
  )
  .superRefine((edges, ctx) => {
    const seen = new Map<string, number>();
    edges.forEach(([a, b], k) => {
      if (a === b) {
        ctx.addIssue({ code: 'custom', path: [k], message: `expected two different agents, got [${a}, ${b}] (a self-loop)` });
        return;
      }
      const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: [k], message: `expected each edge once, got [${a}, ${b}] again (see edges[${first}])` });
      }
      seen.set(key, k);
    });
  });

const matrixSchema = z
  .array(z.array(nonNegativeNumber(), expected('a row of numbers >= 0')), expected('a square matrix (list of rows)'))
  .min(1, expected('a square matrix (list of rows)'))
  .superRefine((rows, ctx) => {
    const n = rows.length;
    rows.forEach((row, i) => {
      if (row.length !== n) {
        ctx.addIssue({ code: 'custom', path: [i], message: `expected ${n} entries (the matrix has ${n} rows), got ${row.length}` });
        return;
      }
      const sum = row.reduce((s, x) => s + x, 0);
      if (Math.abs(sum - 1) > 1e-6) {
        ctx.addIssue({ code: 'custom', path: [i], message: `expected a row summing to 1 (row-stochastic), got a sum of ${Number(sum.toPrecision(10))}` });
      } else if (!(row[i] > 0)) {
        ctx.addIssue({ code: 'custom', path: [i, i], message: `expected a positive diagonal entry, got ${row[i]}` });
      }
    });
  });

const consensusObjectSchema = keyedUnion(
  'kind',
  [
    strictObject({ kind: z.literal('metropolis') }),
    strictObject({ kind: z.literal('equal-neighbour') }),
    strictObject({ kind: z.literal('laplacian'), alpha: positiveNumber().optional() }),
    strictObject({ kind: z.literal('matrix'), matrix: matrixSchema }),
    strictObject({ kind: z.literal('trimmed-mean'), trim: intAtLeast(1) }),
  ],
  CONSENSUS_KINDS,
  `expected one of ${quoteList(CONSENSUS_NAMES)}, or { kind: 'laplacian', alpha }, { kind: 'matrix', matrix } or { kind: 'trimmed-mean', trim }`,
);

/** 'metropolis' is shorthand for { kind: 'metropolis' }; output is always the object form. */
const consensusSchema = z.preprocess(
  (value) => (typeof value === 'string' && (CONSENSUS_NAMES as readonly string[]).includes(value) ? { kind: value } : value),
  consensusObjectSchema,
);

const topologyCommon = {
  name: nameSchema()
    .refine(
      (n) => !(BASELINE_LABELS as readonly string[]).includes(n),
      expected(`a name other than ${quoteList(BASELINE_LABELS)} (baseline labels)`),
    )
    .optional(),
  description: z.string(expected('a string')).optional(),
  consensus: consensusSchema.default({ kind: 'metropolis' }),
  shareDeadlineMs: z
    .number(expected('a number > 0 (milliseconds) or null'))
    .gt(0, expected('a number > 0 (milliseconds) or null'))
    .nullable()
    .default(null),
};

const gridFields = {
  rows: intAtLeast(1).optional(),
  columns: intAtLeast(1).optional(),
};
const randomFields = {
  ratio: ratioSchema,
  redrawEvery: intAtLeast(1).default(1),
  connected: z.boolean(expected('true or false')).default(false),
};
const explicitFields = { edges: edgesSchema };

/** Messages for fields that exist, but in another family. */
function onlyFor(family: TopologyFamily, fields: object): Record<string, string> {
  return Object.fromEntries(Object.keys(fields).map((k) => [k, `is only allowed when family is '${family}'`]));
}

function topologyVariant<F extends TopologyFamily, Extra extends z.ZodRawShape>(family: F, extra: Extra) {
  const elsewhere = {
    ...(family === 'grid' ? {} : onlyFor('grid', gridFields)),
    ...(family === 'random' ? {} : onlyFor('random', randomFields)),
    ...(family === 'explicit' ? {} : onlyFor('explicit', explicitFields)),
  };
  return strictObject({ family: z.literal(family), ...topologyCommon, ...extra }, elsewhere);
}

export const topologySchema = keyedUnion(
  'family',
  [
    topologyVariant('ring', {}),
    topologyVariant('line', {}),
    topologyVariant('star', {}),
    topologyVariant('complete', {}),
    topologyVariant('empty', {}),
    topologyVariant('grid', gridFields),
    topologyVariant('random', randomFields),
    topologyVariant('explicit', explicitFields),
  ],
  TOPOLOGY_FAMILIES,
);

// Compile-time checks: parsed output fits the public types (names are defaulted in config.ts).
type Named<T> = Omit<T, 'name'> & { name?: string };
const _checkScenario = (x: z.output<typeof scenarioSchema>): Named<Omit<ScenarioConfig, 'environment'>> => x;
const _checkTopology = (x: z.output<typeof topologySchema>): Named<TopologyCommon> & { family: TopologyFamily } => x;
void _checkScenario;
void _checkTopology;
