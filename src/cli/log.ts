/**
 * Logging for long-running commands (pino). Two formats on stderr:
 *  - 'json': one JSON object per line, which `netac launch` parses to show combined progress;
 *  - 'pretty': `12:01:02.345 agent 3 INFO  message key=value` for a person at a terminal.
 * Writes are synchronous so that nothing is lost when a process exits right after a line.
 */
import pino, { type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';
export type { Logger } from 'pino';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'agent', 'event']);

/** One pretty line from a pino JSON record. */
export function prettyLine(record: Record<string, unknown>): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString().slice(11, 23);
  const who = record.agent === undefined ? '' : `agent ${String(record.agent)} `;
  const level = LEVEL_NAMES[Number(record.level)] ?? String(record.level);
  const extras = Object.entries(record)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${who}${level} ${String(record.msg ?? '')}${extras ? ` ${extras}` : ''}\n`;
}

export function createLogger(options: { readonly format?: LogFormat; readonly level?: string; readonly bindings?: Record<string, unknown> } = {}): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const destination =
    format === 'json'
      ? pino.destination({ fd: 2, sync: true })
      : {
          write(line: string) {
            try {
              process.stderr.write(prettyLine(JSON.parse(line) as Record<string, unknown>));
            } catch {
              process.stderr.write(line);
            }
          },
        };
  return pino({ level: options.level ?? 'info', base: options.bindings ?? {}, timestamp: pino.stdTimeFunctions.epochTime }, destination);
}
