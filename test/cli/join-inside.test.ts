// `chorus join <code> A/src`, a folder with files inside the project sharing that very session, was taken:
// it copied the whole project into A/src, and A/src's own files appeared at the session's root
// on every peer (the trial). Joining the folder that shares the session was already refused.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, listTree, shareCode, stopAfterEach } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();

it('refuses to join a folder with files inside a project of the same session, and leaves it as it was', () => {
  const a = tempProject({ 'top.txt': 'top\n', 'src/app.js': 'app\n' });
  used.push(a);
  const code = shareCode(a);
  const inner = path.join(a, 'src');
  const join = chorus(['join', code, inner, '--host', '127.0.0.1']);
  expect(join.status).not.toBe(0);
  expect(join.stderr).toContain(`${inner} is inside ${a}, which is in this session already`);
  expect(join.stderr).toContain(`has shared this folder's files (as src/…); joining would share them a second time`);
  expect(join.stderr).toContain(`join into an empty folder or one outside ${a}`);
  expect(fs.existsSync(path.join(inner, '.chorus'))).toBe(false);
  expect(listTree(inner)).toEqual(['app.js']);
  expect(listTree(a)).toEqual(['src/app.js', 'top.txt']);
});
