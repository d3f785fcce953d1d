/**
 * Join codes: one copy-pasteable string that carries how to reach a session and what its holder
 * may do. Format (decision 013): `chorus2.` + base64url(JSON {s: sessionId, a: [ws addrs], r?:
 * relay URL, and either k: writer secret S, or ro: read-only secret R with w: the writers' public
 * key}). A read-only code holds no means to write: R and W only prove membership and check writers.
 * The prefix versions the format; `chorus1.` codes (whose read-only flag was self-declared) are
 * refused with a request for a new code. Decoding explains what is wrong in words a person can
 * act on ("copy the whole code again"), because that is who reads the error.
 */
import { base64urlnopad } from '@scure/base';
import { RelayUrl } from '@chorus/protocol';
import { PUBLIC_KEY_BYTES, readOnlyKeys, SECRET_BYTES, withoutWriter, writerKeys, type SessionKeys } from './credentials.js';

export const JOIN_CODE_PREFIX = 'chorus2.';

export interface JoinCode {
  sessionId: string;
  /** What the holder proves: with `writer` a writer, without it read-only. */
  keys: SessionKeys;
  /** Direct `ws://host:port` addresses of session members. */
  addrs: string[];
  relayUrl?: string;
}

export class JoinCodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinCodeError';
  }
}

/** True when the code lets its holder read only. */
export function isReadOnly(code: JoinCode): boolean {
  return code.keys.writer === undefined;
}

/** Encode a code; `readOnly` leaves the writer secret out even when `keys` has it. */
export function encodeJoinCode(code: JoinCode, opts: { readOnly?: boolean } = {}): string {
  if (code.addrs.length === 0 && !code.relayUrl) throw new JoinCodeError('a join code needs at least one address or a relay URL');
  const keys = opts.readOnly ? withoutWriter(code.keys) : code.keys;
  const b64 = (b: Uint8Array) => base64urlnopad.encode(b);
  const body: Record<string, unknown> = { s: code.sessionId, a: code.addrs };
  if (keys.writer) {
    if (keys.writer.length !== SECRET_BYTES) throw new JoinCodeError(`session secret must be ${SECRET_BYTES} bytes`);
    body.k = b64(keys.writer);
  } else {
    body.ro = b64(keys.read);
    body.w = b64(keys.writerKey);
  }
  if (code.relayUrl) body.r = code.relayUrl;
  return JOIN_CODE_PREFIX + base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(body)));
}

const DAMAGED = 'the join code is damaged or incomplete; copy the whole code again';

function bytesOf(value: unknown, length: number, what: string): Uint8Array {
  if (typeof value !== 'string') throw new JoinCodeError(`${DAMAGED} (no ${what})`);
  let bytes: Uint8Array | undefined;
  try {
    bytes = base64urlnopad.decode(value);
  } catch {
    bytes = undefined; // not base64url: as damaged as a wrong length
  }
  if (bytes?.length !== length) throw new JoinCodeError(`${DAMAGED} (the ${what} has the wrong length)`);
  return bytes;
}

export function decodeJoinCode(text: string): JoinCode {
  const trimmed = text.trim().replace(/\s+/g, ''); // codes wrapped across lines by chat apps
  if (!trimmed.startsWith(JOIN_CODE_PREFIX)) {
    if (trimmed.startsWith('chorus1.')) {
      throw new JoinCodeError('this join code is from an older Chorus, whose codes are no longer accepted (read-only access is now part of the code); ask whoever shared the session for a new code (`chorus share` prints it)');
    }
    if (/^chorus\d+\./.test(trimmed)) throw new JoinCodeError('this join code is from a different Chorus version; upgrade Chorus on the older machine');
    throw new JoinCodeError(`not a Chorus join code (it should start with "${JOIN_CODE_PREFIX}")`);
  }
  const payload = trimmed.slice(JOIN_CODE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) throw new JoinCodeError(`${DAMAGED} (it contains characters a join code never has)`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(base64urlnopad.decode(payload)));
  } catch {
    throw new JoinCodeError(DAMAGED);
  }
  if (typeof body !== 'object' || body === null) throw new JoinCodeError(DAMAGED);
  const b = body as Record<string, unknown>;
  if (typeof b.s !== 'string' || b.s.length === 0) throw new JoinCodeError(`${DAMAGED} (no session id)`);
  let keys: SessionKeys;
  if (b.k !== undefined) keys = writerKeys(bytesOf(b.k, SECRET_BYTES, 'secret'));
  else if (b.ro !== undefined) keys = readOnlyKeys(bytesOf(b.ro, SECRET_BYTES, 'secret'), bytesOf(b.w, PUBLIC_KEY_BYTES, 'writer key'));
  else throw new JoinCodeError(`${DAMAGED} (no secret)`);
  const addrs = b.a ?? [];
  if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string' && /^wss?:\/\//.test(a))) {
    throw new JoinCodeError(`${DAMAGED} (bad address list)`);
  }
  if (b.r !== undefined && !RelayUrl.safeParse(b.r).success) throw new JoinCodeError(`${DAMAGED} (bad relay URL)`);
  if (addrs.length === 0 && b.r === undefined) throw new JoinCodeError(`${DAMAGED} (no address to reach the session)`);
  const code: JoinCode = { sessionId: b.s, keys, addrs: addrs as string[] };
  if (typeof b.r === 'string') code.relayUrl = b.r;
  return code;
}
