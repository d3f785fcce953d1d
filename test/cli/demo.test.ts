// Issue #12: `npm run demo` validates its options, has --help, and a Ctrl-C stops both of its
// daemons and removes its temporary folder (before, they ran on in their own process group).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { daemonsFor } from '../support/cli.js';
import { REPO } from '../support/paths.js';

const DEMO = path.join(REPO, 'daemon', 'dist', 'demo.js');
const demo = (...args: string[]) => spawnSync(process.execPath, [DEMO, ...args], { encoding: 'utf8', timeout: 30_000 });

it('explains its options with --help and refuses bad ones before starting anything', () => {
  const help = demo('--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: npm run demo -- \[--keystrokes N\] \[--rate R\]/);
  expect(help.stdout).toContain('--keystrokes N');
  for (const [args, message] of [
    [['--keystrokes', 'abc'], '--keystrokes must be a whole number from 1 to 10000, not "abc"'],
    [['--keystrokes', '0'], '--keystrokes must be a whole number from 1 to 10000, not "0"'],
    [['--rate=-3'], '--rate must be a number from 0.1 to 1000, not "-3"'],
    [['--rate', 'fast'], '--rate must be a number from 0.1 to 1000, not "fast"'],
    [['--rate'], "Option '--rate <value>' argument missing"],
    [['--fast'], "Unknown option '--fast'"],
  ] as const) {
    const r = demo(...args);
    expect(r.status, args.join(' ')).toBe(1);
    expect(r.stderr).toContain(`demo: ${message}`);
    expect(r.stderr).toContain('Usage:');
    expect(r.stdout).toBe(''); // nothing started: it prints the peers' folders first when it does
  }
});

it('a Ctrl-C stops both daemons and removes the temporary folder', async () => {
  // Its own process group, interrupted as a terminal interrupts its foreground job: every process in it.
  const child = spawn(process.execPath, [DEMO, '--keystrokes', '2000', '--rate', '20'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 1200 && !out.includes('typed'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('typed');
    const [, a, b] = /A: (\S+)\n\s+B: (\S+)/.exec(out)!;
    expect(daemonsFor(a!)).toHaveLength(1);
    expect(daemonsFor(b!)).toHaveLength(1);
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(130);
    expect(err).toMatch(/demo interrupted: stopped both daemons and removed/);
    expect(daemonsFor(a!)).toEqual([]);
    expect(daemonsFor(b!)).toEqual([]);
    expect(fs.existsSync(path.dirname(a!))).toBe(false);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
});
