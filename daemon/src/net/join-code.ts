/**
 * Join codes: one copy-pasteable string that carries how to reach a session and its secret.
 * Format: `chorus1.` + base64url(JSON {s: sessionId, k: base64url(secret), a: [ws addrs], r?: relay
 * URL, ro?: true}). The prefix versions the format; decoding explains what is wrong in words a
 * person can act on ("copy the whole code again"), because that is who reads the error.
 */
import { SECRET_BYTES } from './secure.js';

export const JOIN_CODE_PREFIX = 'chorus1.';

export interface JoinCode {
  sessionId: string;
  secret: Uint8Array;
  /** Direct `ws://host:port` addresses of session members. */
  addrs: string[];
  relayUrl?: string;
  readOnly: boolean;
}

export class JoinCodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinCodeError';
  }
}

export function encodeJoinCode(code: JoinCode): string {
  if (code.secret.length !== SECRET_BYTES) throw new JoinCodeError(`session secret must be ${SECRET_BYTES} bytes`);
  if (code.addrs.length === 0 && !code.relayUrl) throw new JoinCodeError('a join code needs at least one address or a relay URL');
  const body: Record<string, unknown> = {
    s: code.sessionId,
    k: Buffer.from(code.secret).toString('base64url'),
    a: code.addrs,
  };
  if (code.relayUrl) body.r = code.relayUrl;
  if (code.readOnly) body.ro = true;
  return JOIN_CODE_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url');
}

const DAMAGED = 'the join code is damaged or incomplete; copy the whole code again';

export function decodeJoinCode(text: string): JoinCode {
  const trimmed = text.trim().replace(/\s+/g, ''); // codes wrapped across lines by chat apps
  if (!trimmed.startsWith(JOIN_CODE_PREFIX)) {
    if (/^chorus\d+\./.test(trimmed)) throw new JoinCodeError('this join code is from a different Chorus version; upgrade Chorus on the older machine');
    throw new JoinCodeError(`not a Chorus join code (it should start with "${JOIN_CODE_PREFIX}")`);
  }
  const payload = trimmed.slice(JOIN_CODE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) throw new JoinCodeError(`${DAMAGED} (it contains characters a join code never has)`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new JoinCodeError(DAMAGED);
  }
  if (typeof body !== 'object' || body === null) throw new JoinCodeError(DAMAGED);
  const b = body as Record<string, unknown>;
  if (typeof b.s !== 'string' || b.s.length === 0) throw new JoinCodeError(`${DAMAGED} (no session id)`);
  if (typeof b.k !== 'string') throw new JoinCodeError(`${DAMAGED} (no secret)`);
  const secret = new Uint8Array(Buffer.from(b.k, 'base64url'));
  if (secret.length !== SECRET_BYTES) throw new JoinCodeError(`${DAMAGED} (the secret has the wrong length)`);
  const addrs = b.a ?? [];
  if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string' && /^wss?:\/\//.test(a))) {
    throw new JoinCodeError(`${DAMAGED} (bad address list)`);
  }
  if (b.r !== undefined && (typeof b.r !== 'string' || !/^wss?:\/\//.test(b.r))) throw new JoinCodeError(`${DAMAGED} (bad relay URL)`);
  if (addrs.length === 0 && b.r === undefined) throw new JoinCodeError(`${DAMAGED} (no address to reach the session)`);
  const code: JoinCode = { sessionId: b.s, secret, addrs: addrs as string[], readOnly: b.ro === true };
  if (typeof b.r === 'string') code.relayUrl = b.r;
  return code;
}
