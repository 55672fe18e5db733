/**
 * Progress for long runs: a bar with ETA and the current average return on a TTY (cli-progress),
 * occasional plain lines otherwise, nothing with --quiet.
 */
import { SingleBar, Presets } from 'cli-progress';

export interface ProgressReporter {
  update(done: number, total: number, fields: { readonly label: string; readonly averageReturn: number }): void;
  stop(): void;
}

export function createProgress(options: { readonly quiet: boolean; readonly unit: string }): ProgressReporter {
  if (options.quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        format: `{bar} {percentage}% | {value}/{total} ${options.unit} | ETA {eta_formatted} | {label} | avg return {averageReturn}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, fields) {
        const payload = { label: fields.label, averageReturn: Number.isFinite(fields.averageReturn) ? fields.averageReturn.toFixed(4) : '-' };
        if (!started) {
          bar.start(total, done, payload);
          started = true;
        } else {
          bar.update(done, payload);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  // Not a terminal (CI, a pipe): a plain line at every tenth of the way.
  let lastTenth = -1;
  return {
    update(done, total, fields) {
      const tenth = Math.floor((10 * done) / Math.max(1, total));
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      const average = Number.isFinite(fields.averageReturn) ? fields.averageReturn.toFixed(4) : '-';
      process.stderr.write(`${Math.round((100 * done) / Math.max(1, total))}% ${done}/${total} ${options.unit} | ${fields.label} | avg return ${average}\n`);
    },
    stop() {},
  };
}
