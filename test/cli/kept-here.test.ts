// A path this folder keeps to itself (its ignore rules: here the built-in rule for secrets) is
// never written by a peer, even when that peer shares the path. Before, a peer that shared its
// `.env` (`!.env` in its .chorus/ignore) overwrote every other member's own `.env`, and a folder
// joining the session had its `.env` replaced by the session's, with no copy and no message.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const log = (dir: string) => read(dir, '.chorus/daemon.log');

it("a peer sharing its .env never overwrites another member's own, nor a joining folder's", async () => {
  const a = tempProject({ '.env': 'SECRET=a\n', 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a);
  // B shares its .env on purpose (decision 145's way to share one).
  const b = tempProject({ '.chorus/ignore': '!.env\n', '.env': 'B=1\n' });
  used.push(b);
  const joinB = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(joinB.status, joinB.stderr).toBe(0);
  await waitUntil('A to hear of B’s .env and leave its own', () => log(a).includes('not writing .env here: a peer shares it, but this folder keeps it to itself'));
  expect(log(a)).toMatch(/keeps it to itself \(Chorus never shares files that usually hold secrets by default \(built-in rule "\.env"/);
  // B changes its .env (a new version to write) and then makes a file A does write.
  fs.appendFileSync(path.join(b, '.env'), 'B=2\n');
  await new Promise((r) => setTimeout(r, 1500));
  fs.writeFileSync(path.join(b, 'after.txt'), 'after\n');
  await waitUntil('B’s later file on A', () => fs.existsSync(path.join(a, 'after.txt')));
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(a, '.env')).toBe('SECRET=a\n');
  expect(read(b, '.env')).toBe('B=1\nB=2\n'); // A's secret never reached B either

  // A folder joining with its own .env keeps it.
  const c = tempProject({ '.env': 'KEEP_ME=1\n' });
  used.push(c);
  const joinC = chorus(['join', code, c, '--host', '127.0.0.1']);
  expect(joinC.status, joinC.stderr).toBe(0);
  await waitUntil('the session’s files on C', () => fs.existsSync(path.join(c, 'after.txt')) && fs.existsSync(path.join(c, 'a.txt')));
  await waitUntil('C to hear of B’s .env and leave its own', () => log(c).includes('not writing .env here'));
  expect(read(c, '.env')).toBe('KEEP_ME=1\n');
  expect(read(a, '.env')).toBe('SECRET=a\n');
  expect(read(b, '.env')).toBe('B=1\nB=2\n');
});

it("a peer's rename onto a path this folder keeps to itself never replaces its own file there, nor shares it; the peer's deletion of it leaves it", async () => {
  // A trial: a writer that shares `.env` renamed one of its files to `.env`; the host's own
  // `.env` was replaced by the writer's text, with no copy and no word, and from then on the
  // host's edits of it reached every member.
  const a = tempProject({ '.env': 'SECRET=a\n', 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a);
  const b = tempProject({ '.chorus/ignore': '!.env\n' });
  used.push(b);
  const joinB = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(joinB.status, joinB.stderr).toBe(0);
  fs.writeFileSync(path.join(b, 'decoy.txt'), 'DECOY=1\n');
  await waitUntil('decoy.txt on A', () => fs.existsSync(path.join(a, 'decoy.txt')));
  fs.renameSync(path.join(b, 'decoy.txt'), path.join(b, '.env'));
  await waitUntil('A to leave its .env and say so', () => log(a).includes('not writing .env here: a peer shares it, but this folder keeps it to itself'));
  await waitUntil('decoy.txt gone from A with the rename', () => !fs.existsSync(path.join(a, 'decoy.txt')));
  expect(read(a, '.env')).toBe('SECRET=a\n');
  // A's later edit of its .env stays on A; a file A makes afterwards shows the link is alive.
  fs.writeFileSync(path.join(a, '.env'), 'SECRET=a2\n');
  await new Promise((r) => setTimeout(r, 1500));
  fs.writeFileSync(path.join(a, 'after.txt'), 'after\n');
  await waitUntil('A’s later file on B', () => fs.existsSync(path.join(b, 'after.txt')));
  expect(read(b, '.env')).toBe('DECOY=1\n');
  expect(fs.existsSync(path.join(b, 'decoy.txt'))).toBe(false);
  // B deletes its .env: A's own stays, and A's log does not call it shared again.
  fs.rmSync(path.join(b, '.env'));
  fs.writeFileSync(path.join(b, 'after2.txt'), 'after\n');
  await waitUntil('B’s later file on A', () => fs.existsSync(path.join(a, 'after2.txt')));
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(a, '.env')).toBe('SECRET=a2\n');
  expect(log(a)).not.toMatch(/kept \.env: a peer deleted it/);
  expect(fs.existsSync(path.join(a, 'decoy.txt'))).toBe(false);
});
