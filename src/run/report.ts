/**
 * `netac report`: merge a run directory's metrics into one CSV, draw the learning curves and
 * build the summary table.
 *
 * Input (written by the simulator / launcher):
 *   <run>/summary.json                                   { runs: [{ label, seed, finalReturn, J?, Jstar?, Juniform?, normalizedScore? }] }
 *   <run>/<label>/seed-<s>/agent-<i>.metrics.jsonl       { step, mu, meanReward, tdError, criticNorm, consensusDistance } per line
 * Output:
 *   <run>/report/metrics.csv          label,seed,agent,step,mu,meanReward,tdError,criticNorm,consensusDistance
 *                                     (numbers copied as written in the JSONL; null → empty cell)
 *   <run>/report/return.svg|png       globally averaged return (1/N) Σ_i r^i vs iteration, per label
 *   <run>/report/disagreement.svg|png critic disagreement (mean over agents of consensusDistance) vs iteration
 *   <run>/report/summary.txt          the summary table (also returned)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { LearningRecord } from '../agent/metrics.js';
import { BASELINE_LABELS } from './config-schema.js';
import { lineChartSpec, pngFontProblem, renderSvg, svgToPng, type CurvePoint, type PngFontOptions } from './plot.js';

export interface ReportOptions {
  /** Write nothing to stderr (the progress line and warnings are still in the result). */
  readonly quiet?: boolean;
  /** PNG width in pixels (default 900). */
  readonly pngWidth?: number;
  /** Fonts for the PNGs (default: the system's, plus NETAC_FONT_DIR / NETAC_FONT_FILE). */
  readonly fonts?: PngFontOptions;
}

export interface ReportResult {
  readonly csvPath: string;
  readonly svgPaths: string[];
  readonly pngPaths: string[];
  /** The summary table (plain text, aligned columns). */
  readonly table: string;
  /** Things the reader should know (no fonts for PNG text, skipped truncated lines, …). */
  readonly warnings: string[];
}

/** The learning fields of a metrics line, in CSV column order. */
export const METRIC_FIELDS = ['step', 'mu', 'meanReward', 'tdError', 'criticNorm', 'consensusDistance'] as const satisfies readonly (keyof LearningRecord)[];
type MetricField = (typeof METRIC_FIELDS)[number];

export const CSV_HEADER = ['label', 'seed', 'agent', ...METRIC_FIELDS].join(',');

/** One parsed metrics line: values (null where the writer stored a non-finite number as null)
 *  and the exact JSON text of each value. */
export interface MetricsLine {
  readonly line: number;
  readonly values: Readonly<Record<MetricField, number | null>>;
  readonly raw: Readonly<Record<MetricField, string>>;
}

export interface MetricsFile {
  readonly label: string;
  readonly seed: number;
  readonly agent: number;
  readonly path: string;
  readonly lines: readonly MetricsLine[];
}

/** Most points per line drawn; longer series are averaged in consecutive buckets. */
const MAX_POINTS_PER_LINE = 600;

// ---------------------------------------------------------------------------------------------
// Reading metrics
// ---------------------------------------------------------------------------------------------

/**
 * The JSON text of each top-level value of an object literal, e.g. `{"a":1.50,"b":null}` →
 * a → "1.50", b → "null". `text` must already be known to be valid JSON.
 */
export function rawTopLevelValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const endOfString = (start: number): number => {
    let j = start + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  skipSpace();
  if (text[i] !== '{') return values;
  i++;
  for (;;) {
    skipSpace();
    if (text[i] !== '"') break;
    const keyEnd = endOfString(i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = keyEnd;
    skipSpace();
    i++; // ':'
    skipSpace();
    const start = i;
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i = endOfString(i);
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
      i++;
    }
    values.set(key, text.slice(start, i).trim());
    if (text[i] === ',') i++;
    else break;
  }
  return values;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (typeof value === 'string') return JSON.stringify(value.length > 30 ? `${value.slice(0, 29)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/**
 * Parse one agent's metrics JSONL. A malformed line throws an error naming the file and line;
 * an unterminated last line (a write cut short by a crash) is skipped and reported in `warnings`.
 */
export function readMetricsLines(path: string, warnings: string[] = []): MetricsLine[] {
  const text = readFileSync(path, 'utf8');
  const rows = text.split('\n');
  const out: MetricsLine[] = [];
  for (let index = 0; index < rows.length; index++) {
    const lineNumber = index + 1;
    const line = rows[index].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const isUnterminatedLast = index === rows.length - 1;
    const fail = (why: string): never => {
      throw new Error(`${path}:${lineNumber}: ${why}`);
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      if (isUnterminatedLast) {
        warnings.push(`${path}:${lineNumber}: skipped an incomplete last line (the run was probably interrupted)`);
        continue;
      }
      fail(`invalid JSON: ${(error as Error).message.split('\n')[0].slice(0, 100)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      fail(`expected a JSON object {${METRIC_FIELDS.join(', ')}}, got ${describe(parsed)}`);
    }
    const record = parsed as Record<string, unknown>;
    const raw = rawTopLevelValues(line);
    const values = {} as Record<MetricField, number | null>;
    const texts = {} as Record<MetricField, string>;
    for (const field of METRIC_FIELDS) {
      const value = record[field];
      if (field === 'step') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          fail(`'step': expected an integer >= 0, got ${describe(value)}`);
        }
      } else if (value !== null && typeof value !== 'number') {
        fail(`'${field}': expected a number (or null), got ${describe(value)}`);
      }
      values[field] = value as number | null;
      texts[field] = value === null ? '' : (raw.get(field) ?? String(value));
    }
    out.push({ line: lineNumber, values, raw: texts });
  }
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Every `<label>/seed-<s>/agent-<i>.metrics.jsonl` under the run directory, sorted. */
export function findMetricsFiles(runDir: string): { label: string; seed: number; agent: number; path: string }[] {
  const found: { label: string; seed: number; agent: number; path: string }[] = [];
  for (const label of readdirSync(runDir)) {
    const labelDir = join(runDir, label);
    if (label === 'report' || !isDirectory(labelDir)) continue;
    for (const seedName of readdirSync(labelDir)) {
      const seedMatch = /^seed-(\d+)$/.exec(seedName);
      const seedDir = join(labelDir, seedName);
      if (!seedMatch || !isDirectory(seedDir)) continue;
      for (const fileName of readdirSync(seedDir)) {
        const agentMatch = /^agent-(\d+)\.metrics\.jsonl$/.exec(fileName);
        if (agentMatch) {
          found.push({ label, seed: Number(seedMatch[1]), agent: Number(agentMatch[1]), path: join(seedDir, fileName) });
        }
      }
    }
  }
  return found.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : a.seed - b.seed || a.agent - b.agent));
}

// ---------------------------------------------------------------------------------------------
// Summary.json
// ---------------------------------------------------------------------------------------------

export interface SummaryRun {
  readonly label: string;
  readonly seed: number;
  readonly finalReturn: number | null;
  readonly J?: number | null;
  readonly Jstar?: number | null;
  readonly Juniform?: number | null;
  readonly normalizedScore?: number | null;
}

const SUMMARY_NUMBERS = ['finalReturn', 'J', 'Jstar', 'Juniform', 'normalizedScore'] as const;

export function readSummary(path: string): SummaryRun[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: invalid JSON: ${(error as Error).message.split('\n')[0].slice(0, 100)}`);
  }
  const runs = (parsed as { runs?: unknown } | null)?.runs;
  if (!Array.isArray(runs)) throw new Error(`${path}: expected { "runs": [ … ] }`);
  return runs.map((run: unknown, k): SummaryRun => {
    const r = run as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null) throw new Error(`${path}: runs[${k}]: expected an object`);
    if (typeof r.label !== 'string') throw new Error(`${path}: runs[${k}].label: expected a string, got ${describe(r.label)}`);
    if (typeof r.seed !== 'number') throw new Error(`${path}: runs[${k}].seed: expected a number, got ${describe(r.seed)}`);
    for (const field of SUMMARY_NUMBERS) {
      const v = r[field];
      if (v !== undefined && v !== null && typeof v !== 'number') {
        throw new Error(`${path}: runs[${k}].${field}: expected a number, got ${describe(v)}`);
      }
    }
    if (r.finalReturn === undefined) throw new Error(`${path}: runs[${k}].finalReturn: missing`);
    return r as unknown as SummaryRun;
  });
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------------------------

const finite = (values: readonly (number | null | undefined)[]): number[] =>
  values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;

/** Sample standard deviation (n − 1); 0 for a single value. */
function std(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** Fixed 3 decimals for ordinary magnitudes, 3 significant digits in exponent form otherwise. */
function formatNumber(x: number, exponential = x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)): string {
  if (x === 0 && !exponential) return '0';
  return exponential ? x.toExponential(2) : x.toFixed(3);
}

/** "2.134 ± 0.012" over seeds; "2.134" for one value or identical values; "—" for none. */
function meanStd(values: readonly (number | null | undefined)[]): string {
  const v = finite(values);
  if (v.length === 0) return '—';
  const m = mean(v);
  const allEqual = v.every((x) => Math.abs(x - v[0]) <= 1e-12 * Math.max(1, Math.abs(v[0])));
  if (v.length === 1 || allEqual) return formatNumber(m);
  const exponential = m !== 0 && (Math.abs(m) >= 1e5 || Math.abs(m) < 1e-3);
  return `${formatNumber(m, exponential)} ± ${formatNumber(std(v), exponential)}`;
}

function alignTable(rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...r[c]].length)));
  const pad = (cell: string, c: number): string => {
    const gap = ' '.repeat(widths[c] - [...cell].length);
    return rightAligned[c] ? gap + cell : cell + gap;
  };
  const lines = rows.map((r) => r.map(pad).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

/**
 * The summary table: per label, mean ± sample std over seeds of the final return and, where the
 * runs have them, J(θ), J*, J of the uniform policy and the normalized score.
 */
export function summaryTable(runName: string, runs: readonly SummaryRun[], labels: readonly string[], note?: string): string {
  const optional = (['J', 'Jstar', 'Juniform', 'normalizedScore'] as const).filter((f) => runs.some((r) => typeof r[f] === 'number'));
  const titles: Record<string, string> = { J: 'J(θ)', Jstar: 'J*', Juniform: 'J(uniform)', normalizedScore: 'normalized' };
  const header = ['label', 'seeds', 'final return', ...optional.map((f) => titles[f])];
  const rows: string[][] = [header];
  for (const label of labels) {
    const mine = runs.filter((r) => r.label === label);
    if (mine.length === 0) continue;
    rows.push([label, String(new Set(mine.map((r) => r.seed)).size), meanStd(mine.map((r) => r.finalReturn)), ...optional.map((f) => meanStd(mine.map((r) => r[f])))]);
  }
  const lines = [`run ${runName}: mean ± std over seeds`];
  if (note) lines.push(note);
  lines.push(alignTable(rows, header.map((_, c) => c > 0)));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Curves
// ---------------------------------------------------------------------------------------------

/** Per (label, seed, step): the mean over agents of one field. */
type SeedSeries = Map<number, Map<number, { sum: number; count: number }>>;

function averageOverAgents(files: readonly MetricsFile[], field: 'meanReward' | 'consensusDistance'): Map<string, SeedSeries> {
  const byLabel = new Map<string, SeedSeries>();
  for (const file of files) {
    const seeds = byLabel.get(file.label) ?? new Map();
    byLabel.set(file.label, seeds);
    const steps = seeds.get(file.seed) ?? new Map<number, { sum: number; count: number }>();
    seeds.set(file.seed, steps);
    for (const { values } of file.lines) {
      const value = values[field];
      if (value === null || !Number.isFinite(value)) continue;
      const cell = steps.get(values.step!) ?? { sum: 0, count: 0 };
      cell.sum += value;
      cell.count += 1;
      steps.set(values.step!, cell);
    }
  }
  return byLabel;
}

/** Lines over seeds: mean and min..max per step, bucket-averaged down to MAX_POINTS_PER_LINE. */
function curves(byLabel: Map<string, SeedSeries>, labels: readonly string[]): { points: CurvePoint[]; bucket: number } {
  const points: CurvePoint[] = [];
  let largestBucket = 1;
  for (const label of labels) {
    const seeds = byLabel.get(label);
    if (!seeds) continue;
    const allSteps = [...new Set([...seeds.values()].flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
    const bucket = Math.max(1, Math.ceil(allSteps.length / MAX_POINTS_PER_LINE));
    largestBucket = Math.max(largestBucket, bucket);
    for (let start = 0; start < allSteps.length; start += bucket) {
      const stepsHere = allSteps.slice(start, start + bucket);
      const perSeed: number[] = [];
      for (const series of seeds.values()) {
        const v = stepsHere.map((s) => series.get(s)).filter((c) => c !== undefined).map((c) => c.sum / c.count);
        if (v.length > 0) perSeed.push(mean(v));
      }
      if (perSeed.length === 0) continue;
      points.push({
        label,
        step: stepsHere[stepsHere.length - 1],
        mean: mean(perSeed),
        lo: Math.min(...perSeed),
        hi: Math.max(...perSeed),
      });
    }
  }
  return { points, bucket: largestBucket };
}

/** Topologies in the order given, then the baselines. */
function orderLabels(labels: Iterable<string>, preferred: readonly string[]): string[] {
  const all = [...new Set(labels)];
  const rank = (l: string): number => {
    const baseline = (BASELINE_LABELS as readonly string[]).indexOf(l);
    if (baseline >= 0) return 1e6 + baseline;
    const p = preferred.indexOf(l);
    return p >= 0 ? p : 1e3;
  };
  return all.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

export async function writeReport(runDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const warnings: string[] = [];
  if (!isDirectory(runDir)) throw new Error(`${runDir}: not a run directory (no such folder)`);
  const runName = basename(resolve(runDir));
  const found = findMetricsFiles(runDir);
  if (found.length === 0) {
    throw new Error(`${runDir}: no metrics files found (expected <label>/seed-<s>/agent-<i>.metrics.jsonl)`);
  }
  const files: MetricsFile[] = found.map((f) => ({ ...f, lines: readMetricsLines(f.path, warnings) }));
  for (const f of files) if (f.lines.length === 0) warnings.push(`${f.path}: no records`);

  const summaryPath = join(runDir, 'summary.json');
  const summary = existsSync(summaryPath) ? readSummary(summaryPath) : undefined;
  const labels = orderLabels(
    [...files.map((f) => f.label), ...(summary ?? []).map((r) => r.label)],
    (summary ?? []).map((r) => r.label),
  );

  const outDir = join(runDir, 'report');
  await mkdir(outDir, { recursive: true });

  // CSV: one row per metrics line, values copied verbatim.
  const csvPath = join(outDir, 'metrics.csv');
  const csv: string[] = [CSV_HEADER];
  const labelRank = new Map(labels.map((l, k) => [l, k]));
  const ordered = [...files].sort((a, b) => labelRank.get(a.label)! - labelRank.get(b.label)! || a.seed - b.seed || a.agent - b.agent);
  for (const file of ordered) {
    const prefix = `${csvCell(file.label)},${file.seed},${file.agent},`;
    for (const { raw } of file.lines) csv.push(prefix + METRIC_FIELDS.map((f) => raw[f]).join(','));
  }
  await writeFile(csvPath, `${csv.join('\n')}\n`);

  // Charts.
  const seedCount = new Set(files.map((f) => `${f.label}/${f.seed}`)).size;
  const seedsPerLabel = labels
    .map((l) => new Set(files.filter((f) => f.label === l).map((f) => f.seed)).size)
    .filter((n) => n > 0);
  const maxSeeds = Math.max(...seedsPerLabel);
  const minSeeds = Math.min(...seedsPerLabel);
  const seedWords = minSeeds === maxSeeds ? `${maxSeeds} seeds` : `seeds (${minSeeds}–${maxSeeds} per label)`;
  const band = maxSeeds > 1;
  const dashed = labels.filter((l) => (BASELINE_LABELS as readonly string[]).includes(l));
  const plotLabels = labels.filter((l) => files.some((f) => f.label === l));
  const charts = [
    {
      file: 'return',
      field: 'meanReward' as const,
      title: `${runName}: globally averaged return`,
      yTitle: 'globally averaged return',
      what: 'mean over agents of each agent’s average reward over the metrics window',
      yZero: false,
    },
    {
      file: 'disagreement',
      field: 'consensusDistance' as const,
      title: `${runName}: critic disagreement`,
      yTitle: 'critic disagreement',
      what: 'mean over agents of ‖own critic share − mean of the neighbours’ shares‖',
      yZero: true,
    },
  ];
  const svgPaths: string[] = [];
  const pngPaths: string[] = [];
  for (const chart of charts) {
    const { points, bucket } = curves(averageOverAgents(files, chart.field), plotLabels);
    const spread = band ? `line: mean over ${seedWords}, band: min–max over seeds` : 'one seed';
    const averaged = bucket > 1 ? `, averaged over ${bucket} consecutive records` : '';
    const svg = await renderSvg(
      lineChartSpec({
        title: chart.title,
        subtitle: [chart.what, `${spread}${averaged}`],
        xTitle: 'iteration t',
        yTitle: chart.yTitle,
        labels: plotLabels,
        points,
        band,
        dashed,
        yZero: chart.yZero,
      }),
    );
    const svgPath = join(outDir, `${chart.file}.svg`);
    const pngPath = join(outDir, `${chart.file}.png`);
    await writeFile(svgPath, svg);
    await writeFile(pngPath, svgToPng(svg, options.pngWidth ?? 900, options.fonts));
    svgPaths.push(svgPath);
    pngPaths.push(pngPath);
  }
  const fontProblem = pngFontProblem(options.fonts);
  if (fontProblem) warnings.push(fontProblem);

  // Summary table: from summary.json, else from the last 10% of each run's records.
  let runs: SummaryRun[];
  let note: string | undefined;
  if (summary) {
    runs = summary;
  } else {
    note = `(no summary.json: final return = mean over the last 10% of records of the metrics files)`;
    const byLabel = averageOverAgents(files, 'meanReward');
    runs = [];
    for (const [label, seeds] of byLabel) {
      for (const [seed, series] of seeds) {
        const values = [...series.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c.sum / c.count);
        const tail = values.slice(Math.floor(values.length * 0.9));
        runs.push({ label, seed, finalReturn: tail.length > 0 ? mean(tail) : null });
      }
    }
  }
  const table = summaryTable(runName, runs, labels, note);
  await writeFile(join(outDir, 'summary.txt'), `${table}\n`);

  if (!options.quiet) {
    process.stderr.write(`report: ${files.length} metrics files, ${labels.length} labels, ${seedCount} (label, seed) runs → ${outDir}\n`);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  }
  return { csvPath, svgPaths, pngPaths, table, warnings };
}
