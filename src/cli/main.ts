/**
 * The `netac` command. Each subcommand lives in its own module; this file only wires them up.
 */
import { Command, CommanderError } from 'commander';
import { registerSim } from './sim.js';
import { registerReport } from './report.js';
import { registerBench } from './bench.js';
import { registerAgent } from './agent.js';
import { registerLaunch } from './launch.js';
import { registerKeys } from './keys.js';
import { registerStatus } from './status.js';

export function buildProgram(): Command {
  const program = new Command('netac')
    .description('Fully decentralized multi-agent actor-critic (Zhang et al., ICML 2018) over libp2p gossipsub')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  netac sim                                         default experiment: paper-synthetic, random 4/N vs baselines, seeds 0..2
  netac sim --scenario scenarios/small-explicit.yaml --topology topologies/ring.yaml --topology centralized --seeds 0..4
  netac report runs/<name>                          CSV, learning curves (SVG, PNG) and a summary table
  netac launch --agents 8 --topology ring --steps 2000   8 agent processes on this machine over libp2p
  netac init-run --agents 4 --out runs/r4/run.yaml    a run config with keys and ports; then on each machine:
  netac agent --run runs/r4/run.yaml --id 0         one agent as this process
  netac bench                                       iterations/s and memory of the learning core and the simulator`,
    );
  registerSim(program);
  registerReport(program);
  registerLaunch(program);
  registerAgent(program);
  registerKeys(program);
  registerStatus(program);
  registerBench(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed its message (help, version, or a usage error).
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
