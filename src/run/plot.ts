/**
 * Learning-curve charts: a vega-lite spec compiled to vega, rendered headless to SVG, and the
 * SVG rasterised to PNG with resvg.
 *
 * Fonts: vega writes text as SVG <text> naming a font list (DejaVu Sans, Liberation Sans, Arial,
 * Helvetica, …, sans-serif). The SVG is always complete: a browser picks whatever font it has.
 * resvg needs real font files to draw text; it loads the system fonts (plus NETAC_FONT_DIR /
 * NETAC_FONT_FILE if set). On a machine with no fonts at all it draws the PNG without any text
 * (lines, bands and axes only); pngFontProblem() detects that so the report can say so.
 */
import { existsSync, statSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One point of one line: the mean over seeds, and the band (min..max over seeds) if any. */
export interface CurvePoint {
  readonly label: string;
  readonly step: number;
  readonly mean: number;
  readonly lo?: number;
  readonly hi?: number;
}

export interface LineChartOptions {
  readonly title: string;
  /** Lines under the title (each one line of text). */
  readonly subtitle?: readonly string[];
  readonly xTitle: string;
  readonly yTitle: string;
  /** Line labels in legend order. */
  readonly labels: readonly string[];
  readonly points: readonly CurvePoint[];
  /** Draw the lo..hi band (only when there is more than one seed). */
  readonly band: boolean;
  /** Labels drawn dashed (baselines), so they stand apart from the topologies. */
  readonly dashed?: readonly string[];
  /** Start the y axis at zero (default false: fit the data). */
  readonly yZero?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export const FONT_FAMILY = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, 'Noto Sans', sans-serif";

const TABLEAU10 = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
const CATEGORY20 = [
  '#1f77b4', '#aec7e8', '#ff7f0e', '#ffbb78', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#c5b0d5',
  '#8c564b', '#c49c94', '#e377c2', '#f7b6d2', '#7f7f7f', '#c7c7c7', '#bcbd22', '#dbdb8d', '#17becf', '#9edae5',
];
/** Fixed colours for the reference lines, so they read the same in every report. */
const BASELINE_COLOURS: Readonly<Record<string, string>> = { centralized: '#222222', independent: '#8c8c8c' };

/** One colour per label: baselines fixed, the rest from tableau10 (or a 20-colour palette when more). */
function colours(labels: readonly string[]): string[] {
  const others = labels.filter((l) => !Object.hasOwn(BASELINE_COLOURS, l));
  const palette = others.length <= TABLEAU10.length ? TABLEAU10 : CATEGORY20;
  let k = 0;
  return labels.map((l) => BASELINE_COLOURS[l] ?? palette[k++ % palette.length]);
}

export function lineChartSpec(options: LineChartOptions): TopLevelSpec {
  const labels = [...options.labels];
  const dashed = new Set(options.dashed ?? []);
  const color = {
    field: 'label',
    type: 'nominal' as const,
    title: null,
    sort: labels,
    scale: { domain: labels, range: colours(labels) },
    legend: {
      orient: 'right' as const,
      labelLimit: 260,
      symbolType: 'stroke',
      symbolStrokeWidth: 2.5,
      symbolSize: 400,
      symbolOpacity: 1,
      ...(labels.length > 24 ? { columns: 2 } : {}),
    },
  };
  const x = {
    field: 'step',
    type: 'quantitative' as const,
    title: options.xTitle,
    axis: { format: ',~f', tickCount: 8 },
    scale: { domainMin: 0, nice: false },
  };
  const layers: TopLevelSpec[] = [];
  if (options.band) {
    layers.push({
      mark: { type: 'area', opacity: 0.16, interpolate: 'linear' },
      encoding: {
        x,
        y: { field: 'lo', type: 'quantitative', title: options.yTitle, scale: { zero: options.yZero ?? false } },
        y2: { field: 'hi' },
        color,
      },
    } as TopLevelSpec);
  }
  layers.push({
    mark: { type: 'line', strokeWidth: 2, interpolate: 'linear' },
    encoding: {
      x,
      y: { field: 'mean', type: 'quantitative', title: options.yTitle, scale: { zero: options.yZero ?? false } },
      color,
      ...(dashed.size > 0
        ? {
            strokeDash: {
              field: 'label',
              type: 'nominal',
              sort: labels,
              scale: { domain: labels, range: labels.map((l) => (dashed.has(l) ? [7, 4] : [1, 0])) },
              legend: color.legend,
              title: null,
            },
          }
        : {}),
    },
  } as TopLevelSpec);

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: options.title,
      ...(options.subtitle && options.subtitle.length > 0 ? { subtitle: [...options.subtitle] } : {}),
      anchor: 'start',
      fontSize: 17,
      subtitleFontSize: 12,
      subtitleColor: '#555',
    },
    width: options.width ?? 680,
    height: options.height ?? 380,
    background: 'white',
    padding: 12,
    data: { values: options.points as unknown as Record<string, unknown>[] },
    layer: layers,
    config: {
      font: FONT_FAMILY,
      axis: { labelFontSize: 12, titleFontSize: 13, titlePadding: 10, grid: true, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 12, titleFontSize: 12 },
      view: { stroke: '#bbb' },
    },
  } as TopLevelSpec;
}

/** vega-lite → vega → SVG text (headless: no canvas, no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngFontOptions {
  /** Load the machine's fonts (default true). False: only NETAC_FONT_DIR / NETAC_FONT_FILE. */
  readonly loadSystemFonts?: boolean;
}

function fontOptions(options: PngFontOptions): NonNullable<ResvgRenderOptions['font']> {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const entry of (process.env.NETAC_FONT_DIR ?? '').split(':').filter(Boolean)) {
    if (existsSync(entry) && statSync(entry).isDirectory()) dirs.push(entry);
  }
  for (const entry of (process.env.NETAC_FONT_FILE ?? '').split(':').filter(Boolean)) {
    if (existsSync(entry) && statSync(entry).isFile()) files.push(entry);
  }
  // sansSerifFamily only matters when none of FONT_FAMILY's named families exists; resvg then
  // falls back to whatever font it has.
  return { loadSystemFonts: options.loadSystemFonts ?? true, fontDirs: dirs, fontFiles: files, sansSerifFamily: 'DejaVu Sans' };
}

/** SVG → PNG bytes, white background, `width` pixels wide. */
export function svgToPng(svg: string, width = 900, fonts: PngFontOptions = {}): Buffer {
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'width', value: width }, font: fontOptions(fonts), logLevel: 'off' })
    .render()
    .asPng();
}

const fontProblems = new Map<string, string | null>();

/**
 * Null when resvg can draw text here; otherwise a one-line explanation. Probed once per process
 * (per options) by rendering a word and counting dark pixels: resvg silently skips text it has
 * no font for.
 */
export function pngFontProblem(fonts: PngFontOptions = {}): string | null {
  const key = JSON.stringify([fonts.loadSystemFonts ?? true, process.env.NETAC_FONT_DIR, process.env.NETAC_FONT_FILE]);
  const known = fontProblems.get(key);
  if (known !== undefined) return known;
  const probe = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="5" y="30" font-family="${FONT_FAMILY.replace(/'/g, '&apos;')}" font-size="24">Ag</text></svg>`;
  const pixels = new Resvg(probe, { background: 'white', font: fontOptions(fonts), logLevel: 'off' }).render().pixels;
  let dark = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) dark++;
  const problem =
    dark > 0
      ? null
      : 'no usable font found: the PNG charts have no text (titles, axes, legend); the SVG files are complete. ' +
        'Install a font package (e.g. fonts-dejavu-core) or set NETAC_FONT_DIR to a folder of .ttf files.';
  fontProblems.set(key, problem);
  return problem;
}
