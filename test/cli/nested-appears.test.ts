// Pins a user-trial fault: a folder inside a shared project that became a project of its own while
// the project's daemon ran (`chorus share` in it, or a `.chorus/` appearing) was not said in the
// project's log until the daemon's next start.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const said = (root: string, dir: string) =>
  fs.readFileSync(path.join(root, '.chorus', 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes(`not sharing ${dir}/ from now on: it became a Chorus project of its own`)).length;

it('logs a folder that becomes a project of its own while the daemon runs, when it does, once', async () => {
  const a = tempProject({ 'top.txt': 'top\n', 'sub/inner.txt': 'inner\n' });
  used.push(a);
  shareCode(a);
  // A `chorus share` inside the project makes sub/ a project of its own.
  const sub = path.join(a, 'sub');
  used.push(sub);
  const share = chorus(['share', sub, '--host', '127.0.0.1', '--json']);
  expect(share.status).toBe(0);
  // The person is told, not only the outer daemon's log (a later trial).
  expect(share.stderr).toContain(`Note: ${sub} is inside the project ${a}, and is a project of its own now: ${a}'s session no longer shares sub/`);
  await waitUntil("the outer daemon's word on sub/", () => said(a, 'sub') > 0, 15_000);

  // A folder made since the start, a `.chorus/` put in it by hand (as a copy or a checkout would).
  fs.mkdirSync(path.join(a, 'later'));
  fs.writeFileSync(path.join(a, 'later', 'notes.txt'), 'notes\n');
  await new Promise((r) => setTimeout(r, 500));
  fs.mkdirSync(path.join(a, 'later', '.chorus'));
  await waitUntil("the outer daemon's word on later/", () => said(a, 'later') > 0, 15_000);

  // Said once each, whatever else happens there.
  fs.writeFileSync(path.join(sub, 'more.txt'), 'more\n');
  fs.writeFileSync(path.join(a, 'top.txt'), 'top again\n');
  await new Promise((r) => setTimeout(r, 1500));
  expect([said(a, 'sub'), said(a, 'later')]).toEqual([1, 1]);
});

it("a join into a folder with files inside a project says, as share does, that the folder leaves the project's session and its files go to the other (a trial)", async () => {
  const a = tempProject({ 'top.txt': 'top\n', 'src/main.rs': 'fn main() {}\n' });
  used.push(a);
  shareCode(a);
  const other = tempProject({ 'o.txt': 'other\n' });
  used.push(other);
  const code = shareCode(other);
  const src = path.join(a, 'src');
  used.push(src);
  const join = chorus(['join', code, src, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  expect(join.stderr).toContain(
    `Note: ${src} is inside the project ${a}, and is a project of its own now: ${a}'s session no longer shares src/ (its members keep the files they have, but changes made here reach only the session just joined), and the files src/ had are in the session just joined. To undo this, \`chorus stop ${src}\``,
  );
  await waitUntil('main.rs in the other session', () => fs.existsSync(path.join(other, 'main.rs')), 15_000);
  // A new folder inside the project, or view mode, takes nothing from the project: no note.
  for (const [dir, flags] of [[path.join(a, 'fresh'), []], [path.join(a, 'view'), ['--no-disk']]] as const) {
    if (dir.endsWith('view')) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'v.txt'), 'view mode reads nothing here\n');
    }
    used.push(dir);
    const r = chorus(['join', code, dir, '--host', '127.0.0.1', ...flags]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('Note:');
  }
  // Inside a project that is not shared: no session to speak of (a trial read "…'s session no
  // longer shares" there).
  const c = tempProject({ 'sub/c.txt': 'c\n' });
  fs.mkdirSync(path.join(c, '.chorus'));
  used.push(c);
  const sub = path.join(c, 'sub');
  used.push(sub);
  const inUnshared = chorus(['join', code, sub, '--host', '127.0.0.1']);
  expect(inUnshared.status, inUnshared.stderr).toBe(0);
  expect(inUnshared.stderr).toContain(`Note: ${sub} is inside the project ${c}, and is a project of its own now: ${c}'s daemon no longer takes sub/ in (that project is not shared; if it is shared later, sub/ stays out of it), and the files sub/ had are in the session just joined.`);
  expect(inUnshared.stderr).not.toContain('session no longer shares');
  // A folder outside any project: no note either.
  const plain = path.join(tempDir(), 'plain');
  fs.mkdirSync(plain);
  fs.writeFileSync(path.join(plain, 'p.txt'), 'p\n');
  used.push(plain);
  const outside = chorus(['join', code, plain, '--host', '127.0.0.1']);
  expect(outside.status, outside.stderr).toBe(0);
  expect(outside.stderr).not.toContain('Note:');
});
