/**
 * `.chorus/session.json` (mode 0600): the session this folder belongs to — its secret, how to
 * reach its members — so a daemon started for the folder later rejoins on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RelayUrl } from '@chorus/protocol';
import { readOnlyKeys, withoutWriter, writerKeys, type SessionKeys } from '../net/credentials.js';
import { SESSION_FILE } from '../project.js';
import { CHORUS_DIR } from '../workspace/path-rules.js';

export interface SessionConfig {
  sessionId: string;
  /** base64url of the 32-byte writer secret S; absent for a read-only member (decision 013). */
  secret?: string;
  /** A read-only member's keys (base64url of R and of the writers' public key W). */
  readSecret?: string;
  writerKey?: string;
  role: 'host' | 'guest';
  /** Host: the codes it hands out are read-only. Guest: it joined read-only (holds no S). */
  readOnly: boolean;
  /** Members' addresses we know (from the join code, later from gossip). */
  addrs: string[];
  relayUrl?: string;
  listen: { host: string; port: number };
  /** false: view mode, nothing is written to this folder. */
  disk: boolean;
  /** false: links stay WebSocket/relay, never WebRTC. */
  webrtc?: boolean;
}

export function sessionFile(dotDir: string): string {
  return path.join(dotDir, SESSION_FILE);
}

/** Why a saved session file cannot be used; undefined when it can (or there is none). */
function sessionProblem(c: unknown): string | undefined {
  if (typeof c !== 'object' || c === null) return 'it holds no session';
  const s = c as Partial<SessionConfig>;
  if (typeof s.sessionId !== 'string') return 'it has no session id';
  if (typeof s.secret !== 'string' && (typeof s.readSecret !== 'string' || typeof s.writerKey !== 'string')) return 'it has no session keys';
  return undefined;
}

/**
 * The id of the session the project whose `.chorus/` is `dotDir` is in, or undefined (none, or
 * unreadable). Only reads: unlike `loadSession`, it never rewrites another project's file.
 */
export function sessionIdIn(dotDir: string): string | undefined {
  try {
    const id = (JSON.parse(fs.readFileSync(sessionFile(dotDir), 'utf8')) as { sessionId?: unknown }).sessionId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The folder above `root` (nearest first) that is a project in the session `sessionId`, or
 * undefined. A folder inside such a project that holds files of its own cannot join: the outer
 * project has shared them already (at `src/…`), and the joined folder would share them again at
 * the session's root (`…`), every edit of one landing in the other. An empty folder there may
 * join (the outer project leaves a nested project alone: test/peers/nested-folders.test.ts).
 */
export function enclosingMember(root: string, sessionId: string): string | undefined {
  let own: string[];
  try {
    own = fs.readdirSync(root).filter((n) => n !== CHORUS_DIR);
  } catch {
    own = [];
  }
  if (own.length === 0) return undefined;
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    if (sessionIdIn(path.join(dir, CHORUS_DIR)) === sessionId) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function loadSession(dotDir: string): SessionConfig | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(sessionFile(dotDir), 'utf8')) as SessionConfig;
    if (sessionProblem(c) !== undefined) return undefined;
    if (c.relayUrl !== undefined && !RelayUrl.safeParse(c.relayUrl).success) {
      // Saved by a Chorus that took any URL for --relay: no relay could be reached at it, and
      // every join code made with it was refused as damaged. Drop it.
      delete c.relayUrl;
      saveSession(dotDir, c);
    }
    if (c.role === 'guest' && c.readOnly && typeof c.secret === 'string') {
      // Saved by a Chorus whose read-only guests held the writer secret: keep only what a
      // read-only member may hold, as a new read-only code would give.
      Object.assign(c, keysToConfig(withoutWriter(writerKeys(new Uint8Array(Buffer.from(c.secret, 'base64url'))))));
      delete c.secret;
      saveSession(dotDir, c);
    }
    return c;
  } catch {
    return undefined;
  }
}

/**
 * On daemon start: a `.chorus/session.json` that is there but cannot be used (cut short, not
 * JSON, no id or keys) would silently take the folder out of its session. Say so in the log, how
 * to get back in, and keep the file aside as `session.json.damaged-<time>` (it holds the session's
 * secret: nothing is deleted). Returns the path it was kept at, if it was damaged.
 */
export function setAsideDamagedSession(dotDir: string, root: string, log: (msg: string) => void): string | undefined {
  const file = sessionFile(dotDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      log(`could not read the saved session ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); this folder stays out of its session until the file can be read: fix it, then restart the daemon (\`chorus stop ${root}\`)`);
    }
    return undefined;
  }
  let why: string | undefined;
  try {
    why = sessionProblem(JSON.parse(text));
  } catch {
    why = 'it is not complete JSON';
  }
  if (why === undefined) return undefined;
  const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    // Left where it is: the next share or join would overwrite it, so say where it is now.
    log(`the saved session ${file} is damaged (${why}) and could not be moved aside (${(e as NodeJS.ErrnoException).code ?? String(e)}); copy it somewhere safe before sharing or joining again. To get back into the session, ask a member for a join code and run \`chorus join <code> ${root}\``);
    return undefined;
  }
  log(`the saved session ${file} is damaged (${why}), so this folder is no longer in its session; it was kept as ${aside}. To get back in, ask a member for a join code and run \`chorus join <code> ${root}\` (your files stay and are merged)`);
  return aside;
}

export function saveSession(dotDir: string, config: SessionConfig): void {
  const file = sessionFile(dotDir);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The session keys a saved config holds. */
export function configKeys(c: SessionConfig): SessionKeys {
  const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
  if (c.secret !== undefined) return writerKeys(bytes(c.secret));
  return readOnlyKeys(bytes(c.readSecret!), bytes(c.writerKey!));
}

/** The fields of a config that store `keys`. */
export function keysToConfig(keys: SessionKeys): Pick<SessionConfig, 'secret' | 'readSecret' | 'writerKey'> {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return keys.writer ? { secret: b64(keys.writer) } : { readSecret: b64(keys.read), writerKey: b64(keys.writerKey) };
}
