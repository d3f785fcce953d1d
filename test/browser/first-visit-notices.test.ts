/**
 * Trial s59 F5: a new guest's page greeted its person with three warnings that conflict copies
 * "arrived from a peer", made at someone else's join before this person came. What a session
 * already holds is history to a first visit, as to a folder joining (decision 228); a copy made
 * once the page is in is news, and told.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { chorus } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';
import { browserSkipReason, Scene, until } from './support.js';

const skip = browserSkipReason();

describe.skipIf(skip)('a first visit to the page', () => {
  const scene = new Scene();
  afterAll(() => scene.close());
  afterEach(() => scene.cleanup());

  /** A folder with its own version of a.txt joins: the session keeps a conflict copy of it. */
  function joinWithOwnVersion(code: string, text: string): void {
    const dir = tempProject({ 'a.txt': text }, 'chorus-browser-');
    scene.dirs.push(dir);
    const r = chorus(['join', code, dir, '--host', '127.0.0.1']);
    expect(r.status, r.stderr).toBe(0);
  }
  const copies = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('a (conflict '));

  it('is not told of conflict copies made before it came; one made after is told', async () => {
    const { dir, code, url } = scene.share({ 'a.txt': 'the session version\n' });
    joinWithOwnVersion(code, 'an older version\n');
    await until('the copy in the sharer’s folder', async () => copies(dir).length === 1);
    const [old] = copies(dir);

    const page = await scene.open(url, { name: 'Dave' });
    await page.getByTestId(`file:${old}`).waitFor();
    const arrived = () => page.locator('.notice', { hasText: 'arrived from a peer' }).allTextContents();
    // Its first sync is over once the tree has the file; a warning would have come with it.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await arrived()).toEqual([]);

    // News now: another folder joins with its own version.
    joinWithOwnVersion(code, 'a third version\n');
    await until('a second copy in the sharer’s folder', async () => copies(dir).length === 2);
    const fresh = copies(dir).find((c) => c !== old)!;
    const told = await until('the page to tell of the new copy', async () => {
      const t = await arrived();
      return t.length > 0 ? t : undefined;
    });
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(fresh);
    expect(told[0]).not.toContain(old);
    expect(path.basename(fresh)).toMatch(/^a \(conflict [0-9a-f]{6}\)\.txt$/);
  }, 180_000);
});
