/** Parsers for CLI flag values: a bad value is one line naming the flag. */
import { InvalidArgumentError } from 'commander';

export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
      throw new InvalidArgumentError(`${flag} expects a whole number >= 1, got '${value}'`);
    }
    return Number(value);
  };
}

/** Repeatable flag: collects every occurrence. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function nonNegativeInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} expects a whole number >= 0, got '${value}'`);
    return Number(value);
  };
}
