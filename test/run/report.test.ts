import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CSV_HEADER, rawTopLevelValues, readMetricsLines, summaryTable, writeReport } from '../../src/run/report.js';

const tmp = mkdtempSync(join(tmpdir(), 'netac-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function writeAgent(run: string, label: string, seed: number, agent: number, lines: string[]): string {
  const dir = join(run, label, `seed-${seed}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `agent-${agent}.metrics.jsonl`);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  writeFileSync(join(dir, `agent-${agent}.runtime.jsonl`), '{"step":1,"msPerStep":0.1,"messagesIn":1,"messagesOut":1,"rejected":0,"lateShares":0}\n');
  return path;
}

/** Deterministic pseudo-noise in [-1, 1). */
function noise(k: number): number {
  const x = Math.sin(k * 12.9898 + 78.233) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

/** A run like the simulator writes: learning curves rising towards a per-label level. */
function fakeRun(dir: string, labels: readonly string[], seeds: readonly number[], agents: number, records: number, every = 100): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ scenario: { name: 'demo' } }));
  const runs: object[] = [];
  labels.forEach((label, l) => {
    const level = 2 + 0.25 * (labels.length - 1 - l);
    for (const seed of seeds) {
      let k = 1000 * l + 100 * seed;
      let sum = 0;
      for (let agent = 0; agent < agents; agent++) {
        const lines: string[] = [];
        for (let r = 1; r <= records; r++) {
          const step = r * every;
          const progress = 1 - Math.exp(-step / (records * every * 0.25));
          const meanReward = 1.6 + (level - 1.6) * progress + 0.35 * noise(k++) + 0.05 * noise(seed * 7 + r);
          const disagreement = label === 'independent' || label === 'centralized' ? 0 : 2 * Math.exp(-step / (records * every * 0.15)) * (1 + 0.2 * noise(k++));
          if (r > records * 0.9) sum += meanReward;
          lines.push(
            JSON.stringify({ step, mu: meanReward * 0.98, meanReward, tdError: Math.abs(noise(k++)), criticNorm: 3 + progress, consensusDistance: disagreement }),
          );
        }
        writeAgent(dir, label, seed, agent, lines);
      }
      const finalReturn = sum / (agents * Math.ceil(records * 0.1));
      runs.push({ label, seed, finalReturn, J: finalReturn + 0.01, Jstar: level + 0.3, Juniform: 1.6, normalizedScore: (finalReturn - 1.6) / (level + 0.3 - 1.6) });
    }
  });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ runs }, null, 2));
}

describe('raw JSON values', () => {
  it('keeps the exact number text of top-level fields', () => {
    const raw = rawTopLevelValues('{ "step" : 100, "mu":1.50, "x":{"a":[1,2]}, "s":"a,}b", "e":-1e-7 ,"n":null}');
    expect(Object.fromEntries(raw)).toEqual({ step: '100', mu: '1.50', x: '{"a":[1,2]}', s: '"a,}b"', e: '-1e-7', n: 'null' });
  });
});

describe('writeReport on a small run with known numbers', () => {
  const run = join(tmp, 'known');
  const ringA0 = [
    '{"step":100,"mu":0.5,"meanReward":1.0,"tdError":0.25,"criticNorm":3,"consensusDistance":0.5}',
    '{"step":200,"mu":0.75,"meanReward":2.5e0,"tdError":0.125,"criticNorm":3.5,"consensusDistance":0.25}',
  ];
  const ringA1 = [
    '{"step":100,"mu":0.25,"meanReward":3,"tdError":0.5,"criticNorm":2,"consensusDistance":1.5}',
    '{"step":200,"mu":0.5,"meanReward":1.5,"tdError":0.25,"criticNorm":2.5,"consensusDistance":0.75}',
  ];
  const central = ['{"step":100,"mu":1,"meanReward":2,"tdError":0.1,"criticNorm":1,"consensusDistance":0}', '{"step":200,"mu":1.1,"meanReward":null,"tdError":0.1,"criticNorm":1,"consensusDistance":0}'];

  it('writes the CSV verbatim, the charts and the table', async () => {
    writeAgent(run, 'ring', 0, 0, ringA0);
    writeAgent(run, 'ring', 0, 1, ringA1);
    writeAgent(run, 'ring', 1, 0, ringA0);
    writeAgent(run, 'ring', 1, 1, ringA0);
    writeAgent(run, 'centralized', 0, 0, central);
    writeFileSync(join(run, 'config.json'), '{}');
    writeFileSync(
      join(run, 'summary.json'),
      JSON.stringify({
        runs: [
          { label: 'ring', seed: 0, finalReturn: 2.0, J: 1.9, Jstar: 2.5, Juniform: 1.5, normalizedScore: 0.4 },
          { label: 'ring', seed: 1, finalReturn: 3.0, J: 2.1, Jstar: 2.5, Juniform: 1.5, normalizedScore: 0.6 },
          { label: 'centralized', seed: 0, finalReturn: 2.5 },
        ],
      }),
    );
    const report = await writeReport(run, { quiet: true });

    const csv = readFileSync(report.csvPath, 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe(CSV_HEADER);
    expect(CSV_HEADER).toBe('label,seed,agent,step,mu,meanReward,tdError,criticNorm,consensusDistance');
    const expectedRows = (label: string, seed: number, agent: number, lines: string[]) =>
      lines.map((l) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        // The JSON number text, not a reformatted number ("1.0" and "2.5e0" stay as written).
        const text = (k: string) => (o[k] === null ? '' : new RegExp(`"${k}":([^,}]+)`).exec(l)![1]);
        return [label, seed, agent, ...['step', 'mu', 'meanReward', 'tdError', 'criticNorm', 'consensusDistance'].map(text)].join(',');
      });
    expect(csv.slice(1)).toEqual([
      ...expectedRows('ring', 0, 0, ringA0),
      ...expectedRows('ring', 0, 1, ringA1),
      ...expectedRows('ring', 1, 0, ringA0),
      ...expectedRows('ring', 1, 1, ringA0),
      ...expectedRows('centralized', 0, 0, central),
    ]);
    expect(csv[1]).toBe('ring,0,0,100,0.5,1.0,0.25,3,0.5');
    expect(csv[2]).toBe('ring,0,0,200,0.75,2.5e0,0.125,3.5,0.25');
    expect(csv.at(-1)).toBe('centralized,0,0,200,1.1,,0.1,1,0');

    expect(report.svgPaths.map((p) => p.slice(run.length))).toEqual(['/report/return.svg', '/report/disagreement.svg']);
    expect(report.pngPaths.map((p) => p.slice(run.length))).toEqual(['/report/return.png', '/report/disagreement.png']);
    for (const png of report.pngPaths) expect(readFileSync(png).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    for (const svgPath of report.svgPaths) {
      const svg = readFileSync(svgPath, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const label of ['ring', 'centralized', 'known', 'iteration t']) expect(svg).toContain(label);
    }

    // Table: mean ± sample std over seeds; optional columns only where present.
    expect(report.table).toContain('J(θ)');
    const ringRow = report.table.split('\n').find((l) => l.startsWith('ring'))!;
    expect(ringRow.split(/\s{2,}/)).toEqual(['ring', '2', '2.500 ± 0.707', '2.000 ± 0.141', '2.500', '1.500', '0.500 ± 0.141']);
    const centralRow = report.table.split('\n').find((l) => l.startsWith('centralized'))!;
    expect(centralRow.split(/\s{2,}/)).toEqual(['centralized', '1', '2.500', '—', '—', '—', '—']);
    // Topologies before baselines.
    expect(report.table.indexOf('\nring')).toBeLessThan(report.table.indexOf('\ncentralized'));
    expect(readFileSync(join(run, 'report/summary.txt'), 'utf8')).toBe(`${report.table}\n`);
  });

  it('averages returns over agents per (label, seed, step) for the chart', async () => {
    // ring seed 0 at step 100: agents 1.0 and 3 → 2; seed 1: 1.0, 1.0 → 1. Mean 1.5, band 1..2.
    const svg = readFileSync(join(run, 'report/return.svg'), 'utf8');
    expect(svg).toContain('band: min–max over seeds');
  });
});

describe('malformed input', () => {
  it('names the file and line of a malformed JSONL line', async () => {
    const run = join(tmp, 'bad');
    const path = writeAgent(run, 'ring', 0, 0, [
      '{"step":100,"mu":0.5,"meanReward":1,"tdError":0.25,"criticNorm":3,"consensusDistance":0.5}',
      '{"step":200,"mu":0.5,"meanReward":1,"tdError":0.25,"criticNorm":3,consensusDistance:0.5}',
      '{"step":300,"mu":0.5,"meanReward":1,"tdError":0.25,"criticNorm":3,"consensusDistance":0.5}',
    ]);
    await expect(writeReport(run, { quiet: true })).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid JSON: `));
  });

  it('names the field of a wrongly typed value', () => {
    const path = join(tmp, 'typed.jsonl');
    writeFileSync(path, '{"step":100,"mu":0.5,"meanReward":"high","tdError":0.25,"criticNorm":3,"consensusDistance":0.5}\n');
    expect(() => readMetricsLines(path)).toThrow(`${path}:1: 'meanReward': expected a number (or null), got "high"`);
    writeFileSync(path, '\n{"mu":0.5,"meanReward":1,"tdError":0.25,"criticNorm":3,"consensusDistance":0.5}\n');
    expect(() => readMetricsLines(path)).toThrow(`${path}:2: 'step': expected an integer >= 0, got nothing (field missing)`);
    writeFileSync(path, '[1,2]\n');
    expect(() => readMetricsLines(path)).toThrow(`${path}:1: expected a JSON object`);
  });

  it('skips (with a warning) only an unterminated last line cut short by a crash', () => {
    const path = join(tmp, 'cut.jsonl');
    writeFileSync(path, '{"step":100,"mu":0.5,"meanReward":1,"tdError":0.25,"criticNorm":3,"consensusDistance":0.5}\n{"step":200,"mu":0.5,"mea');
    const warnings: string[] = [];
    expect(readMetricsLines(path, warnings)).toHaveLength(1);
    expect(warnings).toEqual([`${path}:2: skipped an incomplete last line (the run was probably interrupted)`]);
  });

  it('rejects a folder with no metrics and a malformed summary.json', async () => {
    mkdirSync(join(tmp, 'nothing/ring'), { recursive: true });
    await expect(writeReport(join(tmp, 'nothing'), { quiet: true })).rejects.toThrow('no metrics files found');
    await expect(writeReport(join(tmp, 'missing'), { quiet: true })).rejects.toThrow('no such folder');
    const run = join(tmp, 'badsummary');
    writeAgent(run, 'ring', 0, 0, ['{"step":1,"mu":0,"meanReward":1,"tdError":0,"criticNorm":0,"consensusDistance":0}']);
    writeFileSync(join(run, 'summary.json'), '{"runs":[{"label":"ring","seed":0,"finalReturn":"x"}]}');
    await expect(writeReport(run, { quiet: true })).rejects.toThrow(`${join(run, 'summary.json')}: runs[0].finalReturn: expected a number, got "x"`);
  });
});

describe('robustness', () => {
  it('handles a single seed (no band) and no summary.json (final return from the metrics)', async () => {
    const run = process.env.NETAC_REPORT_DEMO ? `${process.env.NETAC_REPORT_DEMO}-single` : join(tmp, 'single');
    if (existsSync(run)) rmSync(run, { recursive: true });
    fakeRun(run, ['ring'], [3], 2, 20);
    rmSync(join(run, 'summary.json'));
    const report = await writeReport(run, { quiet: true });
    const svg = readFileSync(report.svgPaths[0], 'utf8');
    expect(svg).toContain('one seed');
    expect(svg).not.toContain('min–max');
    expect(report.table).toContain('no summary.json');
    expect(report.table).toMatch(/\nring\s+1\s+\d\.\d{3}\n?$/);
  });

  it('handles many labels and long runs (bucket-averaged lines)', async () => {
    const run = process.env.NETAC_REPORT_DEMO ? `${process.env.NETAC_REPORT_DEMO}-many` : join(tmp, 'many');
    if (existsSync(run)) rmSync(run, { recursive: true });
    const labels = Array.from({ length: 14 }, (_, k) => `topology-${k}`);
    fakeRun(run, [...labels, 'centralized', 'independent'], [0, 1], 2, 30);
    fakeRun(join(tmp, 'long'), ['ring'], [0], 1, 2500, 1);
    const many = await writeReport(run, { quiet: true });
    const svg = readFileSync(many.svgPaths[0], 'utf8');
    for (const label of [...labels, 'centralized', 'independent']) expect(svg).toContain(`>${label}<`);
    const long = await writeReport(join(tmp, 'long'), { quiet: true });
    expect(readFileSync(long.svgPaths[0], 'utf8')).toContain('averaged over 5 consecutive records');
    expect(readFileSync(long.csvPath, 'utf8').trimEnd().split('\n')).toHaveLength(2501);
  });

  it('renders a realistic run (3 labels × 3 seeds × 200 records)', async () => {
    // NETAC_REPORT_DEMO=/tmp/report-demo keeps the output for a look at the PNGs.
    const run = process.env.NETAC_REPORT_DEMO ?? join(tmp, 'report-demo');
    if (existsSync(run)) rmSync(run, { recursive: true });
    fakeRun(run, ['random-4-over-n', 'centralized', 'independent'], [0, 1, 2], 20, 200);
    const report = await writeReport(run, { quiet: true });
    for (const png of report.pngPaths) {
      const bytes = readFileSync(png);
      expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      expect(bytes.readUInt32BE(16)).toBe(900); // IHDR width
    }
    expect(report.table.split('\n').filter((l) => /^(random|centralized|independent)/.test(l))).toHaveLength(3);
  });
});

describe('fonts', () => {
  it('warns when the PNGs cannot have text, and still writes them', async () => {
    const run = join(tmp, 'nofonts');
    fakeRun(run, ['ring'], [0], 1, 5);
    const saved = [process.env.NETAC_FONT_DIR, process.env.NETAC_FONT_FILE];
    delete process.env.NETAC_FONT_DIR;
    delete process.env.NETAC_FONT_FILE;
    try {
      const report = await writeReport(run, { quiet: true, fonts: { loadSystemFonts: false } });
      expect(report.warnings).toEqual([expect.stringContaining('no usable font found: the PNG charts have no text')]);
      for (const png of report.pngPaths) expect(readFileSync(png).subarray(0, 8)).toEqual(PNG_SIGNATURE);
      expect(readFileSync(report.svgPaths[0], 'utf8')).toContain('>ring<');
    } finally {
      if (saved[0] !== undefined) process.env.NETAC_FONT_DIR = saved[0];
      if (saved[1] !== undefined) process.env.NETAC_FONT_FILE = saved[1];
    }
  });

  const dejavu = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  it.runIf(existsSync(dejavu))('uses NETAC_FONT_FILE when the system has no fonts', async () => {
    const run = join(tmp, 'fontfile');
    fakeRun(run, ['ring'], [0], 1, 5);
    const saved = process.env.NETAC_FONT_FILE;
    process.env.NETAC_FONT_FILE = dejavu;
    try {
      const report = await writeReport(run, { quiet: true, fonts: { loadSystemFonts: false } });
      expect(report.warnings).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.NETAC_FONT_FILE;
      else process.env.NETAC_FONT_FILE = saved;
    }
  });
});

describe('summaryTable', () => {
  it('shows only the columns some run has', () => {
    const table = summaryTable('r', [{ label: 'ring', seed: 0, finalReturn: 1 }, { label: 'ring', seed: 1, finalReturn: 2 }], ['ring']);
    expect(table.split('\n')).toEqual(['run r: mean ± std over seeds', 'label  seeds   final return', '-----  -----  -------------', 'ring       2  1.500 ± 0.707']);
  });
});
