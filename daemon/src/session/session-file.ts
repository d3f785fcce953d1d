/**
 * `.chorus/session.json` (mode 0600): the session this folder belongs to — its secret, how to
 * reach its members — so a daemon started for the folder later rejoins on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RelayUrl } from '@chorus/protocol';
import { readOnlyKeys, withoutWriter, writerKeys, type SessionKeys } from '../net/credentials.js';

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
  return path.join(dotDir, 'session.json');
}

export function loadSession(dotDir: string): SessionConfig | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(sessionFile(dotDir), 'utf8')) as SessionConfig;
    if (typeof c.sessionId !== 'string') return undefined;
    if (typeof c.secret !== 'string' && (typeof c.readSecret !== 'string' || typeof c.writerKey !== 'string')) return undefined;
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
