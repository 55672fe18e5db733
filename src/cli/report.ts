/** `netac report`: merge a run's metrics into a CSV, draw the learning curves, print the summary. */
import type { Command } from 'commander';
import { writeReport } from '../run/report.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("merge a run's metrics into one CSV, draw learning curves (SVG and PNG), print the summary table")
    .argument('<run-dir>', 'a run directory written by netac sim or netac launch')
    .option('--quiet', 'print only the summary table')
    .addHelpText('after', '\nExample:\n  netac report runs/paper-synthetic-20261121-120000')
    .action(async (runDir: string, flags: { quiet?: boolean }) => {
      const report = await writeReport(runDir, { quiet: flags.quiet ?? false });
      process.stdout.write(`${report.table}\n`);
      process.stdout.write(`plots: ${report.pngPaths.join(', ')}\ncsv: ${report.csvPath}\n`);
    });
}
