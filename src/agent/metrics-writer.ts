/**
 * Writes an agent's metrics as JSON lines: `agent-<i>.metrics.jsonl` (learning, deterministic)
 * and `agent-<i>.runtime.jsonl` (runtime stats). Lines are buffered and appended in blocks, so a
 * long run costs one write per block, and a crash loses at most one block.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LearningRecord, RuntimeRecord } from './metrics.js';

const FLUSH_LINES = 256;

export function metricsFileName(agent: number): string {
  return `agent-${agent}.metrics.jsonl`;
}

export function runtimeFileName(agent: number): string {
  return `agent-${agent}.runtime.jsonl`;
}

export class JsonlMetricsWriter {
  readonly learningPath: string;
  readonly runtimePath: string;
  private learningLines: string[] = [];
  private runtimeLines: string[] = [];

  constructor(directory: string, agent: number, options: { readonly append?: boolean } = {}) {
    this.learningPath = join(directory, metricsFileName(agent));
    this.runtimePath = join(directory, runtimeFileName(agent));
    if (!options.append) {
      writeFileSync(this.learningPath, '');
      writeFileSync(this.runtimePath, '');
    }
  }

  /**
   * After resuming from a checkpoint at iteration `step`: drop the records written after it (that
   * learning is lost), so the files continue from the checkpoint. Keeps the files otherwise.
   */
  truncateAfter(step: number): void {
    for (const path of [this.learningPath, this.runtimePath]) {
      if (!existsSync(path)) continue;
      const kept = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => {
          if (line.trim() === '') return false;
          try {
            return (JSON.parse(line) as { step?: number }).step! <= step;
          } catch {
            return false; // a line torn by a crash
          }
        });
      writeFileSync(path, kept.length > 0 ? `${kept.join('\n')}\n` : '');
    }
  }

  learning(record: LearningRecord): void {
    this.learningLines.push(JSON.stringify(record));
    if (this.learningLines.length >= FLUSH_LINES) this.flush();
  }

  runtime(record: RuntimeRecord): void {
    this.runtimeLines.push(JSON.stringify(record));
    if (this.runtimeLines.length >= FLUSH_LINES) this.flush();
  }

  flush(): void {
    if (this.learningLines.length > 0) appendFileSync(this.learningPath, `${this.learningLines.join('\n')}\n`);
    if (this.runtimeLines.length > 0) appendFileSync(this.runtimePath, `${this.runtimeLines.join('\n')}\n`);
    this.learningLines = [];
    this.runtimeLines = [];
  }

  close(): void {
    this.flush();
  }
}
