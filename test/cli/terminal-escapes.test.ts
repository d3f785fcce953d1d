// `chorus status` printed this person's own name (then from `chorus daemon --name`; since decision
// 178 `--name` refuses such names, so here from the identity file) raw: a name with escape
// sequences cleared the terminal, set its title and coloured what followed, and a newline in it
// printed a fake line. Peers' names were already escaped; now every value the CLI prints
// (names, paths, notices) is, in status, share, join and stop alike.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, stopAfterEach, waitUntilAnswers } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempDir } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Any control character but the newlines that end the CLI's own lines. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

it('status, share, join and stop print names and paths with control characters escaped', async () => {
  const evil = 'Mallory\u001b[2J\u001b]0;PWNED\u0007\u001b[31mRED\nfake line';
  const a = path.join(tempDir(), 'proj\u001b[2Jx');
  fs.mkdirSync(a);
  fs.writeFileSync(path.join(a, 'a.txt'), 'hi\n');
  fs.mkdirSync(path.join(a, '.chorus'));
  used.push(a);
  // `--name` refuses such a name now (decision 178), changing nothing; one written into the
  // identity file by hand is still taken, so what shows it must escape it.
  const refused = chorus(['daemon', a, '--name', evil]);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain('a name cannot hold control characters');
  expect(RAW_CONTROL.test(refused.stderr), JSON.stringify(refused.stderr)).toBe(false);
  fs.writeFileSync(path.join(a, '.chorus', 'identity.json'), JSON.stringify({ name: evil }));
  const daemon = spawn(process.execPath, [CLI, 'daemon', a], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(daemon);
  let log = '';
  daemon.stderr!.on('data', (c) => (log += c));
  await waitUntilAnswers('the daemon to answer', a, () => daemon.exitCode !== null);
  expect(daemon.exitCode, log).toBeNull();

  const share = chorus(['share', a, '--host', '127.0.0.1']);
  expect(share.status, share.stderr).toBe(0);
  const code = /chorus join (\S+) <folder>/.exec(share.stdout)![1]!;
  const b = path.join(tempDir(), 'join\u001b]0;T\u0007ed');
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);

  const status = chorus(['status', a]);
  expect(status.status, status.stderr).toBe(0);
  const you = status.stdout.split('\n').find((l) => l.startsWith('you '));
  expect(you).toContain('Mallory\\u001b[2J\\u001b]0;PWNED\\u0007\\u001b[31mRED\\nfake line');
  expect(status.stdout.split('\n').some((l) => l.startsWith('fake line'))).toBe(false);
  expect(status.stdout).toContain('proj\\u001b[2Jx');

  const stop = chorus(['stop', b]);
  expect(stop.status, stop.stderr).toBe(0);
  for (const [what, out] of Object.entries({ share: share.stdout + share.stderr, join: join.stdout + join.stderr, status: status.stdout + status.stderr, stop: stop.stdout + stop.stderr })) {
    expect(RAW_CONTROL.test(out), `${what}: ${JSON.stringify(out)}`).toBe(false);
  }
  expect(join.stdout).toContain('join\\u001b]0;T\\u0007ed');
  expect(log).not.toMatch(RAW_CONTROL);
});
