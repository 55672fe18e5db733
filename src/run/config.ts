/**
 * Loading experiment files: scenarios/*.yaml|json and topologies/*.yaml|json.
 *
 * A file is read, parsed by its extension (.json, .yaml, .yml), validated against the strict
 * schemas of ./config-schema.ts and returned with every default filled in. Any problem becomes a
 * ConfigError whose message is ONE line naming the file, the field path and what was expected:
 *
 *   scenarios/x.yaml: stepSizes.critic.p: expected a number >= 0, got "fast"
 *   topologies/r.yaml: unknown field 'ratoi' (did you mean 'ratio'?)
 *   topologies/r.yaml:3:7: invalid YAML: Map keys must be unique
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import * as YAML from 'yaml';
import type * as z from 'zod';
import {
  scenarioSchema,
  topologySchema,
  type EnvironmentConfig,
  type RatioConfig,
  type ScenarioConfig,
  type TopologyConfig,
} from './config-schema.js';

export type {
  ConsensusConfig,
  CoopNavigationConfig,
  EnvironmentConfig,
  ExplicitMdpConfig,
  NetworkedMdpConfig,
  RatioConfig,
  ScenarioConfig,
  ScheduleConfig,
  TopologyConfig,
  TopologyFamily,
} from './config-schema.js';
export { BASELINE_LABELS, PAPER_STEP_SIZES, TOPOLOGY_FAMILIES } from './config-schema.js';

/** A bad experiment file. `message` is one line: `<source>: <field.path>: <what is wrong>`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** The file (or label) the bad value came from. */
    readonly source: string,
    /** Dotted field path, e.g. 'stepSizes.critic.p' ('' for the whole file). */
    readonly field = '',
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------------

const oneLine = (text: string, max = 160): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

function readText(path: string, source: string, field = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : oneLine((error as Error).message);
    const prefix = field === '' ? `${source}: ` : `${source}: ${field}: `;
    const what = field === '' ? 'cannot read file' : `cannot read '${path}'`;
    throw new ConfigError(`${prefix}${what}: ${why}`, source, field);
  }
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // Node 20's JSON.parse rarely says where; the YAML parser (JSON is nearly a subset) usually can.
    let where = '';
    const position = /at position (\d+)/.exec((error as Error).message);
    if (position) {
      const { line, col } = lineColumn(text, Number(position[1]));
      where = `:${line}:${col}`;
    } else {
      const located = YAML.parseDocument(text, { schema: 'json', prettyErrors: true }).errors[0];
      const pos = located?.linePos?.[0];
      if (pos) where = `:${pos.line}:${pos.col}`;
    }
    const detail = text.trim() === '' ? 'the file is empty' : oneLine((error as Error).message.split('\n')[0], 100);
    throw new ConfigError(`${source}${where}: invalid JSON: ${detail}`, source);
  }
}

function parseYamlText(text: string, source: string): unknown {
  const document = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? `:${pos.line}:${pos.col}` : '';
    // yaml's message continues with " at line L, column C:" and a source excerpt: keep the gist.
    const gist = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${source}${where}: invalid YAML: ${oneLine(gist, 120)}`, source);
  }
  if (document.contents === null) throw new ConfigError(`${source}: the file is empty`, source);
  return document.toJS({ maxAliasCount: 100 });
}

/**
 * Read and parse a .json, .yaml or .yml file into plain data. Errors are ConfigErrors naming
 * the file (and line:column for syntax errors).
 */
export function readStructuredFile(path: string, source = path): unknown {
  checkExtension(path, source);
  return parseStructuredText(readText(path, source), path, source);
}

function checkExtension(path: string, source: string, field = ''): void {
  const extension = extname(path).toLowerCase();
  if (extension !== '.json' && extension !== '.yaml' && extension !== '.yml') {
    const prefix = field === '' ? `${source}: ` : `${source}: ${field}: `;
    throw new ConfigError(`${prefix}expected a .json, .yaml or .yml file, got '${extension || 'no extension'}'`, source, field);
  }
}

function parseStructuredText(text: string, path: string, source: string): unknown {
  const extension = extname(path).toLowerCase();
  return extension === '.json' ? parseJsonText(text, source) : parseYamlText(text, source);
}

// ---------------------------------------------------------------------------------------------
// Turning zod issues into one line
// ---------------------------------------------------------------------------------------------

/** 'stepSizes.critic.p', 'edges[3][1]'. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** A short rendering of a bad value for "got …". */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 39)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function issueLine(issue: z.core.$ZodIssue): { field: string; text: string } {
  const field = formatFieldPath(issue.path);
  const message = issue.message;
  if (issue.code === 'unrecognized_keys' || !message.startsWith('expected')) {
    return { field, text: message };
  }
  if (/, got /.test(message)) return { field, text: message };
  let input: unknown = (issue as { input?: unknown }).input;
  // A bad discriminator (environment.kind, family, …): zod reports the whole object as input.
  if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
    input = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[issue.discriminator] : input;
  }
  if (input === undefined) return { field, text: `missing, ${message}` };
  return { field, text: `${message}, got ${describeValue(input)}` };
}

export function failure(error: z.ZodError, source: string): ConfigError {
  // One line: the first problem (fixing it and re-running shows the next). An unknown field goes
  // first: it is usually a misspelling, and explains the "missing" that comes with it.
  const first = error.issues.find((issue) => issue.code === 'unrecognized_keys') ?? error.issues[0];
  const { field, text } = issueLine(first);
  return new ConfigError(field === '' ? `${source}: ${text}` : `${source}: ${field}: ${text}`, source, field);
}

/** Default name: the file name without its extension, made folder-safe. */
function nameFromSource(source: string): string {
  const base = basename(source).replace(/\.(json|ya?ml)$/i, '');
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return safe === '' ? 'unnamed' : safe;
}

export function checkTopLevel(value: unknown, source: string, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${source}: expected a ${what} (a mapping of fields), got ${describeValue(value)}`, source);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

export interface ParseScenarioOptions {
  /** Folder that relative paths inside the scenario resolve against (default: the source's folder). */
  readonly baseDir?: string;
}

/**
 * Validate scenario data (already parsed from JSON/YAML). `source` names it in errors and gives
 * the default name. The explicit MDP's `file` comes back absolute; its contents are not read
 * (loadScenario does that).
 */
export function parseScenario(obj: unknown, source: string, options: ParseScenarioOptions = {}): ScenarioConfig {
  checkTopLevel(obj, source, 'scenario');
  const result = scenarioSchema.safeParse(obj, { reportInput: true });
  if (!result.success) throw failure(result.error, source);
  const data = result.data;
  let environment: EnvironmentConfig = data.environment;
  if (environment.kind === 'explicit-mdp') {
    const baseDir = options.baseDir ?? dirname(resolve(source));
    environment = { kind: 'explicit-mdp', file: resolve(baseDir, environment.file) };
  }
  return { name: data.name ?? nameFromSource(source), ...data, environment } as ScenarioConfig;
}

/** Read, validate and default a scenario file; an explicit MDP's JSON is read into environment.mdp. */
export function loadScenario(path: string): ScenarioConfig {
  const scenario = parseScenario(readStructuredFile(path), path);
  if (scenario.environment.kind !== 'explicit-mdp') return scenario;
  const file = scenario.environment.file;
  // Name the MDP file as the user would: relative to the working directory when that is shorter.
  const shown = isAbsolute(path) ? file : relative(process.cwd(), file) || file;
  // A missing or unreadable file is the scenario's error; a malformed one is the MDP file's.
  checkExtension(file, path, 'environment.file');
  const mdp = parseStructuredText(readText(file, path, 'environment.file'), file, shown);
  return { ...scenario, environment: { ...scenario.environment, mdp } };
}

// ---------------------------------------------------------------------------------------------
// Topologies
// ---------------------------------------------------------------------------------------------

/** Validate topology data (already parsed). `source` names it in errors and gives the default name. */
export function parseTopology(obj: unknown, source: string): TopologyConfig {
  checkTopLevel(obj, source, 'topology');
  const result = topologySchema.safeParse(obj, { reportInput: true });
  if (!result.success) throw failure(result.error, source);
  const data = result.data;
  return { name: data.name ?? nameFromSource(source), ...data } as TopologyConfig;
}

export function loadTopology(path: string): TopologyConfig {
  return parseTopology(readStructuredFile(path), path);
}

/**
 * The connectivity ratio 2|E|/(N(N−1)) for N agents. "c/N" gives c/N, capped at 1 (with N <= c
 * every pair is connected: the complete graph).
 */
export function resolveRatio(ratio: RatioConfig, agentCount: number): number {
  if (typeof ratio === 'number') return ratio;
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*\/\s*N\s*$/.exec(ratio);
  if (!match) throw new Error(`ratio '${ratio}': expected a number or "c/N"`);
  return Math.min(1, Number(match[1]) / agentCount);
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/** Upper bound on the number of seeds one expression may expand to. */
export const MAX_SEEDS = 10_000;

/**
 * Seeds from a command-line expression: "0..4" → [0,1,2,3,4], "1,3,7" → [1,3,7], "5" → [5].
 * Items may be mixed ("0..2,9"). Seeds are non-negative safe integers; no duplicates.
 */
export function parseSeeds(text: string): number[] {
  const fail = (why: string): never => {
    throw new Error(`invalid seeds '${text}': ${why} (expected e.g. "5", "0..4" or "1,3,7")`);
  };
  const toSeed = (digits: string): number => {
    const value = Number(digits);
    if (!Number.isSafeInteger(value)) fail(`${digits} is too large`);
    return value;
  };
  if (text.trim() === '') fail('empty');
  const seeds: number[] = [];
  for (const rawItem of text.split(',')) {
    const item = rawItem.trim();
    const range = /^(\d+)\s*\.\.\s*(\d+)$/.exec(item);
    if (range) {
      const [from, to] = [toSeed(range[1]), toSeed(range[2])];
      if (to < from) fail(`range ${item} runs backwards`);
      if (seeds.length + (to - from + 1) > MAX_SEEDS) fail(`more than ${MAX_SEEDS} seeds`);
      for (let s = from; s <= to; s++) seeds.push(s);
    } else if (/^\d+$/.test(item)) {
      seeds.push(toSeed(item));
      if (seeds.length > MAX_SEEDS) fail(`more than ${MAX_SEEDS} seeds`);
    } else {
      fail(item === '' ? 'empty item' : `'${item}' is not a non-negative integer or a range a..b`);
    }
  }
  const seen = new Set<number>();
  for (const s of seeds) {
    if (seen.has(s)) fail(`seed ${s} appears twice`);
    seen.add(s);
  }
  return seeds;
}
