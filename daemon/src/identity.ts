/** Who this daemon is in a session: a stable id per project, a name and a colour. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { colorFor } from './presence/colors.js';
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

/** Load (or create) the identity kept in `.chorus/identity.json`; `name` overrides the stored one. */
export function loadIdentity(dotDir: string, name?: string): Identity {
  const file = path.join(dotDir, 'identity.json');
  let stored: Partial<Identity> = {};
  try {
    stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Identity>;
  } catch {
    // first start
  }
  const id = typeof stored.id === 'string' && /^[0-9a-f]{32}$/.test(stored.id) ? stored.id : randomBytes(16).toString('hex');
  const identity = { id, name: name ?? stored.name ?? defaultName(), color: stored.color ?? colorFor(id) };
  if (JSON.stringify(identity) !== JSON.stringify(stored)) fs.writeFileSync(file, JSON.stringify(identity, null, 2) + '\n', { mode: 0o600 });
  return identity;
}
