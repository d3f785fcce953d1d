/** Who this daemon is in a session: a stable id per project, a name and a colour. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { colorFor, HEX_COLOR } from './presence/colors.js';
import { nameProblem } from './presence/person-name.js';
import { Failure } from './errors.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Identity {
  id: string;
  name: string;
  color: string;
}

export { colorFor } from './presence/colors.js';

function defaultName(): string {
  try {
    const name = execFileSync('git', ['config', 'user.name'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim();
    if (name) return name;
  } catch {
    // no git, or no name configured
  }
  try {
    return os.userInfo().username;
  } catch {
    return 'someone';
  }
}

/**
 * Load (or create) the identity kept in `.chorus/identity.json`; `name` overrides the stored one
 * and is kept there, so a later start without it (an editor's `chorus connect`) keeps it
 * (decision 178). Throws Failure('invalid') for a `name` that breaks the rule (person-name.ts).
 * A damaged file (not JSON, not an object, or an invalid id) is kept aside as `identity.json.damaged-<time>` and a
 * new identity made; `log` says so, since peers then see this folder as a new member.
 */
export function loadIdentity(dotDir: string, name?: string, log: (msg: string) => void = () => undefined): Identity {
  const problem = name === undefined ? undefined : nameProblem(name);
  if (problem !== undefined) throw new Failure('invalid', `${problem}; choose another name`);
  const file = path.join(dotDir, 'identity.json');
  let stored: Partial<Identity> = {};
  let damaged: string | undefined;
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) damaged = 'it holds no identity';
    else {
      stored = parsed as Partial<Identity>;
      // No id at all is a file someone wrote to choose a name (`{"name": "Ada"}`): an id is made.
      if (stored.id !== undefined && (typeof stored.id !== 'string' || !/^[0-9a-f]{32}$/.test(stored.id))) damaged = 'its id is not valid';
    }
  } catch (e) {
    // No file: the first start. Anything else is a file that is there but unusable.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') damaged = e instanceof SyntaxError ? 'it is not complete JSON' : `it cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (damaged !== undefined) {
    stored = {};
    let kept = '';
    try {
      const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      fs.renameSync(file, aside);
      kept = `; it was kept as ${aside}`;
    } catch {
      // cannot move it (unreadable folder?): it is overwritten below, as before
    }
    log(`the identity file ${file} is damaged (${damaged})${kept}. This folder gets a new identity, so peers see it as a new member`);
  }
  const id = typeof stored.id === 'string' && /^[0-9a-f]{32}$/.test(stored.id) ? stored.id : randomBytes(16).toString('hex');
  // An empty name counts as none: presence says nothing for a member without a name (a browser
  // tab whose person has not chosen one yet), so a daemon must always have one.
  // A stored name is taken as the file has it (a person may write one there); what shows it escapes it.
  const storedName = typeof stored.name === 'string' && stored.name.trim() !== '' ? stored.name : undefined;
  // A colour written by hand must be one peers take (`#rrggbb`): they refuse any other in
  // presence, and the person's cursor and name then showed nowhere, with nothing said (a trial).
  const storedColor = typeof stored.color === 'string' && HEX_COLOR.test(stored.color) ? stored.color : undefined;
  if (stored.color !== undefined && storedColor === undefined) {
    log(`the colour ${JSON.stringify(stored.color).slice(0, 40)} in ${file} is not of the form #rrggbb (as #3cb44b), which peers need to show a cursor; ${colorFor(id)} is used instead`);
  }
  const identity = { id, name: name || storedName || defaultName(), color: storedColor ?? colorFor(id) };
  if (JSON.stringify(identity) !== JSON.stringify(stored)) saveIdentity(dotDir, identity);
  return identity;
}

/** Keep `identity` in `.chorus/identity.json` (readable by this user only), replacing what was there. */
export function saveIdentity(dotDir: string, identity: Identity): void {
  fs.writeFileSync(path.join(dotDir, 'identity.json'), JSON.stringify(identity, null, 2) + '\n', { mode: 0o600 });
}
