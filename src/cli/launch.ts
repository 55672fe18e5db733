/** `netac launch`: N agent processes on this machine with one command. */
import { writeFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import type { Command } from 'commander';
import { initRun } from '../run/init-run.js';
import { loadFaults } from '../run/faults.js';
import { Launcher } from '../run/launch.js';
import { writeReport } from '../run/report.js';
import { loadScenario } from '../run/config.js';
import { withAgentCount } from '../run/experiment.js';
import { createProgress } from './progress.js';
import { nonNegativeInteger, positiveInteger } from './options.js';
import { defaultRunDirectory, PACKAGE_ROOT } from './paths.js';
import { scenarioArgument, topologyArgument } from './keys.js';

interface LaunchFlags {
  agents: number;
  scenario: string;
  topology: string;
  seed: number;
  steps?: number;
  out?: string;
  quiet?: boolean;
  report: boolean;
  faults?: string;
  checkpointEvery?: number;
}

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .description('start N netac agent processes on this machine (one libp2p node each), show their progress, report at the end')
    .requiredOption('--agents <n>', 'number of agents (processes)', positiveInteger('--agents'))
    .option('--scenario <file>', 'scenario file or shipped name', 'paper-synthetic')
    .option('--topology <file>', "topology file or shipped name, or 'centralized' / 'independent'", 'ring')
    .option('--seed <n>', 'run seed', nonNegativeInteger('--seed'), 0)
    .option('--steps <n>', "iterations (default: the scenario's)", positiveInteger('--steps'))
    .option('--out <dir>', 'run directory (default: runs/<scenario>-<time>)')
    .option('--faults <file>', 'fault injection and hostile agents (YAML/JSON), written into the run config')
    .option('--checkpoint-every <n>', 'iterations between checkpoints (default 500)', positiveInteger('--checkpoint-every'))
    .option('--quiet', 'no progress output')
    .option('--no-report', 'do not write the report at the end')
    .addHelpText(
      'after',
      '\nExamples:\n  netac launch --agents 8 --scenario scenarios/paper-synthetic.yaml --topology topologies/ring.yaml --steps 2000\n  npm run launch -- --agents 4 --scenario small-explicit --topology complete',
    )
    .action(async (flags: LaunchFlags) => {
      const scenarioPath = scenarioArgument(flags.scenario);
      const topology = topologyArgument(flags.topology);
      let scenario = loadScenario(scenarioPath);
      if (scenario.environment.kind !== 'explicit-mdp') scenario = withAgentCount(scenario, flags.agents);
      const steps = flags.steps ?? scenario.steps;
      const outDir = flags.out ?? defaultRunDirectory(`${scenario.name}-${flags.agents}`);
      const runFile = join(outDir, 'run.yaml');
      const quiet = flags.quiet ?? false;
      await initRun({
        out: runFile,
        agents: flags.agents,
        scenario: scenarioPath,
        topology,
        runId: basename(outDir).replace(/[^A-Za-z0-9._-]/g, '-'),
        seed: flags.seed,
        steps,
        faults: flags.faults ? loadFaults(flags.faults) : undefined,
        checkpointEvery: flags.checkpointEvery,
      });
      if (!quiet) process.stderr.write(`netac launch: ${flags.agents} agent processes, ${scenario.name}, ${steps} steps → ${outDir}\n`);
      const progress = createProgress({ quiet, unit: 'iterations' });
      const launcher = new Launcher({
        entry: join(PACKAGE_ROOT, 'bin', 'netac.js'),
        runFile,
        agents: flags.agents,
        steps,
        onProgress: (p) => progress.update(p.step, p.steps, { label: `${flags.agents} agents`, averageReturn: p.averageReturn }),
        onLine: (agent, line) => {
          if (!quiet) process.stderr.write(`[agent ${agent}] ${line}\n`);
        },
      });
      await runToEnd(launcher, { stopping: 'netac launch: stopping every agent', failure: 'agent(s)' });
      progress.stop();
      writeFileSync(join(outDir, 'config.json'), `${JSON.stringify({ runFile, scenario: scenario.name, topology, agents: flags.agents, steps, seed: flags.seed }, null, 2)}\n`);
      if (flags.report) {
        const report = await writeReport(outDir, { quiet });
        process.stdout.write(`${report.table}\nplots: ${report.pngPaths.join(', ')}\ncsv: ${report.csvPath}\n`);
      } else {
        process.stdout.write(`run written to ${outDir}\n`);
      }
    });
}

/**
 * Runs a launcher's agents to the end. Ctrl-C or SIGTERM stops every agent (each writes its
 * checkpoint and exits cleanly). Throws, naming the first failed agent and its last error line,
 * when any agent failed. Returns whether a signal stopped the run.
 */
export async function runToEnd(
  launcher: Launcher,
  messages: { readonly stopping: string; readonly failure: string; readonly logs?: string },
): Promise<{ readonly signalled: boolean }> {
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    process.stderr.write(`\n${messages.stopping}\n`);
    launcher.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const exits = await launcher.run();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const failed = exits.filter((exit) => exit.code !== 0 || exit.signal !== null);
  if (failed.length > 0) {
    const first = failed[0];
    const last = first.errors.length > 0 ? `: ${first.errors.at(-1)}` : '';
    const logs = messages.logs ? ` (logs in ${messages.logs})` : '';
    throw new Error(
      `${messages.failure} ${failed.map((exit) => exit.agent).join(', ')} failed; agent ${first.agent} exited with ${first.signal ?? `code ${first.code}`}${last}${logs}`,
    );
  }
  return { signalled };
}
