/** `netac status`: the health of a peer-to-peer run, from the status files its agents write. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { loadRunConfig } from '../run/run-config.js';
import { loadPeer } from './agent.js';
import { labelOf } from '../run/experiment.js';
import { statusTable } from '../run/status.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per agent of a run: step, last message, late shares, rejected messages (from the agents\' status files)')
    .requiredOption('--run <file>', 'the run config the agents were started with')
    .option('--watch', 'refresh every second until Ctrl-C')
    .addHelpText('after', '\nExample:\n  netac status --run runs/ring8/run.yaml --watch')
    .action(async (flags: { run: string; watch?: boolean }) => {
      const run = loadRunConfig(flags.run);
      const { choice } = (await loadPeer()).runExperiment(run);
      const directory = join(run.out, labelOf(choice), `seed-${run.seed}`);
      const show = () => `run ${run.run} (${directory})\n${statusTable(directory, run.agents.length)}\n`;
      if (!flags.watch) {
        process.stdout.write(show());
        return;
      }
      for (;;) {
        process.stdout.write(`\x1b[2J\x1b[H${show()}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    });
}
