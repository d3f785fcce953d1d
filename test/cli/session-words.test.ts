// Pins user-trial faults of what `chorus join` and `chorus status` say of a session:
// - a read-only join said only "Joined: …", and status did not name view mode (`--no-disk`);
// - a read-only join into a folder with files of its own hung, and could lose those files;
// - status said "not shared" of a joined folder whose daemon had just started, for as long as it
//   took in the folder before rejoining its session.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedFolder, joinedPair, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const sessionLine = (dir: string) => /^session {3}(.*)$/m.exec(chorus(['status', dir]).stdout)?.[1];

it('a read-only join says so when it is done, and status names read-only and view mode', () => {
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a, ['--read-only']);
  const b = path.join(tempDir(), 'b');
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  expect(join.stdout).toMatch(/^Joined read-only: 1 file, 0\.0 MB in .*\/b after [\d.]+ s\.\nRead-only: you can see the files and follow others, not edit \(changes you make stay on this machine; ask whoever shared the session for a code that can edit\)\.\n$/);
  expect(sessionLine(b)).toMatch(/^joined; read-only: you can see the files and follow others, not edit \(.*\); listening on /);

  const c = path.join(tempDir(), 'c');
  used.push(c);
  const view = chorus(['join', code, c, '--no-disk', '--json', '--host', '127.0.0.1']);
  expect(view.status, view.stderr).toBe(0);
  expect(JSON.parse(view.stdout)).toMatchObject({ files: 1, readOnly: true });
  expect(sessionLine(c)).toMatch(/^joined; read-only: .*; view mode: nothing is written to this folder; files live in your editors only; listening on /);

  // A read-only join into a folder with files of its own is refused before anything changes: a
  // read-only member cannot share them, so the session never took them and the join hung (a
  // user trial), and the person's file was later replaced by the session's with no copy.
  const e = tempProject({ 'a.txt': 'my own version\n', 'mine.txt': 'mine\n' });
  used.push(e);
  const refused = chorus(['join', code, e, '--host', '127.0.0.1']);
  expect(refused.status, refused.stdout).not.toBe(0);
  expect(refused.stderr).toMatch(/this code is read-only, so it cannot merge this folder's own files into the session, and .* has 2 files of its own \(a\.txt, mine\.txt\); nothing was joined and nothing in the folder changed/);
  expect(fs.readFileSync(path.join(e, 'a.txt'), 'utf8')).toBe('my own version\n');
  expect(fs.readdirSync(e).sort()).toEqual(['a.txt', 'mine.txt']);
  expect(fs.readFileSync(path.join(a, 'a.txt'), 'utf8')).toBe('a\n');
  expect(fs.existsSync(path.join(a, 'mine.txt'))).toBe(false);

  // A writer's join says nothing of the kind.
  const d = path.join(tempDir(), 'd');
  used.push(d);
  const writer = chorus(['join', shareCode(a), d, '--host', '127.0.0.1']);
  expect(writer.stdout).toMatch(/^Joined: 1 file/);
  expect(writer.stdout).not.toMatch(/read-only/i);
  expect(sessionLine(d)).toMatch(/^joined; listening on /);
});

it('status of a joined folder whose daemon has just started says it is reconnecting, never "not shared"', async () => {
  const { b } = joinedPair({ 'a.txt': 'a\n' }, used);
  expect(chorus(['stop', b]).status).toBe(0);
  // Files to take in at the next start: the daemon rejoins its session once that is done.
  for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(b, `new-${i}.txt`), `file ${i}\n`);
  const daemon = spawn(process.execPath, [CLI, 'daemon', b], { stdio: 'ignore', detached: true });
  daemon.unref();
  const lines: string[] = [];
  await waitUntil('the daemon rejoining its session', () => {
    const line = sessionLine(b);
    if (line !== undefined) lines.push(line);
    return line !== undefined && line.startsWith('joined; listening on');
  });
  expect(lines.filter((l) => !/^(joined|reconnecting)/.test(l))).toEqual([]);
  expect(lines[0]).toMatch(/^reconnecting: the daemon has just started and rejoins the session once it has read the folder/);
});

it('a join into a folder already in the session keeps what the folder has; a code or --no-disk asking for another mode is refused, named (a trial)', async () => {
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const writer = shareCode(a);
  const reader = shareCode(a, ['--read-only']);
  const b = joinedFolder(writer, used);
  const v = path.join(tempDir(), 'v');
  used.push(v);
  expect(chorus(['join', reader, v, '--host', '127.0.0.1']).status).toBe(0);
  const again = (code: string, dir: string, ...flags: string[]) => chorus(['join', code, dir, '--host', '127.0.0.1', ...flags]);
  // It said "Joined read-only", "view mode: nothing written to disk" or "Joined:", exit 0, while
  // the folder kept writing, or stayed read-only.
  const refused = (r: ReturnType<typeof chorus>, words: string) => {
    expect(r.status, r.stdout).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(words);
    expect(r.stderr).toMatch(/; nothing was changed\n/);
  };
  refused(again(reader, b), 'is in this session already, as a member who can write; a read-only code changes nothing here: to follow the session read-only, join into another folder');
  refused(again(writer, b, '--no-disk'), "is in this session already, with the session's files written to it; view mode (--no-disk) needs a folder of its own: join into another folder with --no-disk");
  refused(again(writer, v), "joined this session read-only, and joining again does not change that: to write in the session, join with this code into another folder, or delete ");
  expect(again(writer, v).stderr).toContain(`(after \`chorus stop ${v}\`, if its daemon runs) and join here again`);
  expect(again(writer, v).stderr).toContain("join here again (its files are the session's already; any you changed are kept as conflict copies); nothing was changed");
  // With its daemon stopped the join starts one to ask, and stops it again: the words fit that too.
  expect(chorus(['stop', v]).status).toBe(0);
  refused(again(writer, v), 'joined this session read-only, and joining again does not change that');
  expect(chorus(['status', v]).status).toBe(4);
  // A view-mode reader has no files to speak of (a trial).
  const view = path.join(tempDir(), 'view');
  used.push(view);
  expect(chorus(['join', reader, view, '--host', '127.0.0.1', '--no-disk']).status).toBe(0);
  const viewAgain = again(writer, view, '--no-disk');
  refused(viewAgain, 'joined this session read-only, and joining again does not change that');
  expect(viewAgain.stderr).not.toContain('its files are');
  // Asking for what the folder has is a join as before.
  expect(again(writer, b).stdout).toMatch(/^Joined: 1 file, /);
  expect(again(reader, v).stdout).toMatch(/^Joined read-only: 1 file, /);
  expect(sessionLine(b)).toMatch(/^joined; listening on /);
  expect(sessionLine(v)).toMatch(/^joined; read-only: /);
  // B still writes the session's files, and its own edits still reach A.
  fs.writeFileSync(path.join(a, 'a.txt'), 'a2\n');
  await waitUntil("A's edit on B's disk", () => fs.readFileSync(path.join(b, 'a.txt'), 'utf8') === 'a2\n');
  fs.writeFileSync(path.join(b, 'b.txt'), 'from b\n');
  await waitUntil("B's new file on A's disk", () => fs.existsSync(path.join(a, 'b.txt')));
});
