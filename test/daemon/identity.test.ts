// `.chorus/identity.json` as a person may write it by hand (README "CLI", decision 227).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { colorFor, loadIdentity } from '../../daemon/src/identity.js';
import { tempDir } from '../support/project-dir.js';

/** A `.chorus/` folder holding `identity` as identity.json. */
function dotDir(identity: Record<string, unknown>): string {
  const dir = path.join(tempDir(), '.chorus');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'identity.json'), JSON.stringify(identity));
  return dir;
}

const id = 'd0d0000000000000000000000000000d';

it('keeps a colour written by hand as #rrggbb', () => {
  const lines: string[] = [];
  expect(loadIdentity(dotDir({ id, name: 'Dave', color: '#800000' }), undefined, (m) => lines.push(m)).color).toBe('#800000');
  expect(lines).toEqual([]);
});

it('does not take a colour peers would refuse ("red"): it says so and uses the one its id gives (a trial: the cursor showed nowhere)', () => {
  const lines: string[] = [];
  const dir = dotDir({ id, name: 'Dave', color: 'red' });
  const identity = loadIdentity(dir, undefined, (m) => lines.push(m));
  expect(identity.color).toBe(colorFor(id));
  expect(lines).toEqual([`the colour "red" in ${path.join(dir, 'identity.json')} is not of the form #rrggbb (as #3cb44b), which peers need to show a cursor; ${colorFor(id)} is used instead`]);
  for (const color of [42, '#80000', '#8000000', 'url(x)']) {
    expect(loadIdentity(dotDir({ id, name: 'Dave', color }), undefined, () => undefined).color).toBe(colorFor(id));
  }
});
