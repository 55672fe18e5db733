/** `netac sim`: N agents in one process over the in-memory transport, topologies side by side. */
import { Option, type Command } from 'commander';
import { loadScenario, loadTopology, parseSeeds } from '../run/config.js';
import { BASELINE_LABELS } from '../run/config-schema.js';
import { runSimulation } from '../run/sim.js';
import { labelOf, selectBackendFor, withAgentCount, type TopologyChoice } from '../run/experiment.js';
import { writeReport } from '../run/report.js';
import { createProgress } from './progress.js';
import { describeHostile, loadFaults } from '../run/faults.js';
import { describeFaults, hasFaults } from '../net/fault-transport.js';
import { collect, positiveInteger } from './options.js';
import { defaultRunDirectory, resolveShippedFile } from './paths.js';

export const DEFAULT_SCENARIO = 'paper-synthetic';
export const DEFAULT_TOPOLOGIES = ['random-4-over-n', 'centralized', 'independent'];

interface SimFlags {
  scenario: string;
  topology?: string[];
  seeds: string;
  steps?: number;
  agents?: number;
  out?: string;
  quiet?: boolean;
  report: boolean;
  faults?: string;
  batched?: boolean;
  backend?: 'auto' | 'tfjs-node' | 'wasm' | 'cpu';
}

/** A --topology value: a baseline keyword, or a topology file (path or shipped name). */
export function loadTopologyChoice(argument: string): TopologyChoice {
  if ((BASELINE_LABELS as readonly string[]).includes(argument)) return argument as 'centralized' | 'independent';
  return loadTopology(resolveShippedFile(argument, 'topologies'));
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('simulate N agents in one process (same Agent as the peer process, in-memory transport)')
    .option('--scenario <file>', 'scenario file (JSON or YAML), or the name of a shipped one', DEFAULT_SCENARIO)
    .option(
      '--topology <file>',
      `topology file or shipped name, or 'centralized' / 'independent'; repeat to compare (default: ${DEFAULT_TOPOLOGIES.join(', ')})`,
      collect,
    )
    .option('--seeds <list>', "run seeds: '0..4', '1,3,7' or '5'", '0..2')
    .option('--steps <n>', 'iterations per run (default: the scenario\'s)', positiveInteger('--steps'))
    .option('--agents <n>', 'number of agents, for generated environments', positiveInteger('--agents'))
    .option('--out <dir>', 'run directory (default: runs/<scenario>-<time>)')
    .option('--faults <file>', 'fault injection and hostile agents (YAML/JSON: dropShares, partition, hostile)')
    .option('--quiet', 'no progress output')
    .option('--no-report', 'do not write the report (CSV and plots) at the end')
    .option('--batched', 'neural scenarios: all agents\' MLPs in batched tensor ops (same math, float32 rounding; faster)')
    .addOption(new Option('--backend <name>', "TensorFlow.js backend for MLPs (default: the scenario's, else auto)").choices(['auto', 'tfjs-node', 'wasm', 'cpu']))
    .addHelpText(
      'after',
      `
Examples:
  netac sim
  netac sim --scenario scenarios/paper-synthetic.yaml --topology topologies/random-4-over-n.yaml --topology centralized --topology independent --seeds 0..2 --steps 20000
  netac sim --scenario small-explicit --topology ring --topology complete --topology independent --seeds 0..4
  netac sim --scenario coop-nav-3 --topology ring --topology centralized --topology independent --seeds 0..2 --batched`,
    )
    .action(async (flags: SimFlags) => {
      let scenario = withAgentCount(loadScenario(resolveShippedFile(flags.scenario, 'scenarios')), flags.agents);
      if (flags.steps !== undefined) scenario = { ...scenario, steps: flags.steps };
      if (flags.backend !== undefined) scenario = { ...scenario, backend: flags.backend };
      const choices = (flags.topology ?? DEFAULT_TOPOLOGIES).map(loadTopologyChoice);
      const labels = choices.map(labelOf);
      const duplicate = labels.find((label, index) => labels.indexOf(label) !== index);
      if (duplicate) throw new Error(`--topology: '${duplicate}' is given twice (topology names must differ)`);
      const seeds = parseSeeds(flags.seeds);
      const outDir = flags.out ?? defaultRunDirectory(scenario.name);
      const quiet = flags.quiet ?? false;
      if (!quiet) {
        process.stderr.write(
          `netac sim: ${scenario.name} (algorithm ${scenario.algorithm}, ${scenario.steps} steps) × [${labels.join(', ')}] × seeds [${seeds.join(', ')}] → ${outDir}\n`,
        );
      }
      const backend = await selectBackendFor(scenario);
      if (backend && !quiet) {
        process.stderr.write(`netac sim: TensorFlow.js backend ${backend.name}${backend.fallbackReason ? ` (${backend.fallbackReason})` : ''}\n`);
      }
      const faults = flags.faults ? loadFaults(flags.faults) : undefined;
      if (faults && (hasFaults(faults) || faults.hostile.length > 0)) {
        // Loud on purpose: a run with injected faults must never pass for a clean one.
        process.stderr.write(`netac sim: FAULT INJECTION ON: ${[describeFaults(faults), describeHostile(faults)].filter(Boolean).join('; ')}\n`);
      }
      const progress = createProgress({ quiet, unit: 'iterations' });
      // The batched simulator needs TensorFlow.js: load it only when asked, so that linear runs
      // (and every other command) start without it.
      const simulate = flags.batched ? (await import('../run/batched-sim.js')).runBatchedSimulation : runSimulation;
      await simulate({
        scenario,
        choices,
        seeds,
        outDir,
        faults,
        onProgress: (p) => progress.update(p.done, p.total, { label: `${p.label} seed ${p.seed}`, averageReturn: p.averageReturn }),
      });
      progress.stop();
      if (flags.report) {
        const report = await writeReport(outDir, { quiet });
        process.stdout.write(`${report.table}\n`);
        process.stdout.write(`plots: ${report.pngPaths.join(', ')}\ncsv: ${report.csvPath}\n`);
      } else {
        process.stdout.write(`run written to ${outDir} (netac report ${outDir} draws the plots)\n`);
      }
    });
}
