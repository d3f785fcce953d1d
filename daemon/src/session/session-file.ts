/**
 * `.chorus/session.json` (mode 0600): the session this folder belongs to — its secret, how to
 * reach its members — so a daemon started for the folder later rejoins on its own.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface SessionConfig {
  sessionId: string;
  /** base64url of the 32-byte secret. */
  secret: string;
  role: 'host' | 'guest';
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
    if (typeof c.sessionId !== 'string' || typeof c.secret !== 'string') return undefined;
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
