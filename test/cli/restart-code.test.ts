// A code handed out before the sharer's daemon restarted still joins: the daemon listens on the
// port it listened on before (decision 007's host-tagged addresses ended in `/?host=…`, and the
// port was read from them by a pattern for a trailing `:port`, so it was never saved, and every
// restart took a new random port: "connection refused … Is the sharing daemon running?").
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chorus, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();

it('a code given before the sharing daemon restarted still joins', async () => {
  const a = tempProject({ 'a.txt': 'from a\n' });
  used.push(a);
  // On all interfaces, as people share (not the tests' usual loopback): addresses tagged with
  // the host id, the shape whose port was never saved.
  const shared = chorus(['share', a, '--json']);
  expect(shared.status, shared.stderr).toBe(0);
  const code = (JSON.parse(shared.stdout) as { code: string }).code;
  expect(Buffer.from(code.slice(8), 'base64url').toString()).toMatch(/\?host=/);
  expect(chorus(['stop', a]).status).toBe(0);
  // Started again as a person (or an editor) starts it: `chorus daemon`, which resumes the session.
  const daemon = spawn(process.execPath, [CLI, 'daemon', a], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  daemon.stderr.on('data', (c) => (err += c));
  await waitUntil('the daemon serving again', () => err.includes('serving'));
  const b = path.join(tempDir(), 'b');
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  await waitUntil("A's file on B", () => fs.existsSync(path.join(b, 'a.txt')));
  expect(fs.readFileSync(path.join(b, 'a.txt'), 'utf8')).toBe('from a\n');
});
