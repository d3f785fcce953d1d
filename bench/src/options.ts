// The benchmarks' command lines, read one way: node:util's `parseArgs` (strict, so a mistyped
// option stops the run instead of being ignored and costing minutes), `--help` printing the
// usage, and numbers checked before anything starts.

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One option: a value (`string`) or a switch (`boolean`), with what `--help` says of it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Shown by `--help`: e.g. "N  keystrokes measured (default 600)". */
  help: string;
  /** Can be given more than once (values collected in order). */
  multiple?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Read `argv` (default: this process's arguments) against `spec`. `--help`/`-h` prints `usage`
 * and the options' help, then exits 0; an unknown option, a missing value, or (unless
 * `positionals`) a bare argument prints why and exits 2.
 */
export function readOptions(usage: string, spec: Record<string, OptionSpec>, { positionals = false, argv = process.argv.slice(2) } = {}): { values: OptionValues; positionals: string[] } {
  const help = (): string => [usage, ...Object.entries(spec).map(([name, o]) => `  --${name}${o.type === 'string' ? ' ' : ''}${o.help}`), '  --help  this text'].join('\n');
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec)) options[name] = { type: o.type, multiple: o.multiple ?? false };
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals });
    if (parsed.values.help === true) {
      console.log(help());
      process.exit(0);
    }
    return { values: parsed.values as OptionValues, positionals: parsed.positionals };
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${help()}`);
    process.exit(2);
  }
}

/**
 * The number given as `--name`, or `fallback` when it is absent. Not a finite number, or below
 * `min`: prints why and exits 2.
 */
export function numberOption(values: OptionValues, name: string, fallback: number, min = 0): number {
  const given = values[name];
  if (given === undefined) return fallback;
  const n = Number(given);
  if (typeof given !== 'string' || given.trim() === '' || !Number.isFinite(n) || n < min) {
    console.error(`--${name} ${String(given)}: give a number of at least ${min}`);
    process.exit(2);
  }
  return n;
}

/** The string given as `--name`, or `fallback`. */
export function stringOption(values: OptionValues, name: string, fallback: string): string;
export function stringOption(values: OptionValues, name: string): string | undefined;
export function stringOption(values: OptionValues, name: string, fallback?: string): string | undefined {
  const given = values[name];
  return typeof given === 'string' ? given : fallback;
}
