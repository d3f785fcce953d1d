/**
 * Join codes: one copy-pasteable string that carries how to reach a session and what its holder
 * may do. Format (decision 013): `chorus2.` + base64url(JSON {s: sessionId, a: [ws addrs], r?:
 * relay URL, and either k: writer secret S, or ro: read-only secret R with w: the writers' public
 * key}). A read-only code holds no means to write: R and W only prove membership and check writers.
 * The prefix versions the format; `chorus1.` codes (whose read-only flag was self-declared) are
 * refused with a request for a new code. Decoding explains what is wrong in words a person can
 * act on, because that is who reads the error: a code cut off where it was copied, shortened for
 * display ("…"), with a quote mark or other text in it, or with characters a code never has each
 * get their own. Quotes around a code and white space in it (a chat app's wrapping) are dropped.
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

/**
 * How many other members' addresses a code carries besides its giver's own. A joiner needs one
 * member that answers; the overlay's gossip tells it the rest. Listing every member made a code
 * of 940 characters for 14 members (a trial), longer than chat apps and terminals show whole.
 */
export const CODE_OTHER_ADDRS = 4;

/**
 * The addresses a code gives: `own` (the giving daemon's, which answers now: it is giving the
 * code) first, then at most CODE_OTHER_ADDRS of `others` (other members', freshest first, as
 * Overlay.knownAddrs gives them) in their order, none twice.
 */
export function codeAddrs(own: readonly string[], others: readonly string[]): string[] {
  const mine = new Set(own);
  return [...mine, ...[...new Set(others)].filter((a) => !mine.has(a)).slice(0, CODE_OTHER_ADDRS)];
}

const DAMAGED = 'the join code is damaged or incomplete; copy the whole code again';

/** A code cut off where it was copied (a terminal's width, a chat app's preview, a selection ending early). */
const INCOMPLETE = `the join code is incomplete: its end is missing (it was cut off where it was copied); copy the whole code again, from "${JOIN_CODE_PREFIX}" to its end`;

/** Marks a code is often copied inside (from a chat, a document, JSON): around it, they are dropped. */
const WRAPPERS: ReadonlyArray<readonly [string, string]> = [['"', '"'], ["'", "'"], ['`', '`'], ['\u201c', '\u201d'], ['\u2018', '\u2019'], ['<', '>']];

/**
 * How much of `text`, read line by line (a paste, a pipe), is the join code: its first line, or,
 * when the code opens with a quote mark, everything up to the end of the line where the quote
 * closes (a chat app wrapped the quoted code over lines). Undefined while more lines are needed.
 */
export function pastedCodeLength(text: string): number | undefined {
  const t = text.trimStart();
  const start = text.length - t.length;
  const close = WRAPPERS.find(([open]) => t.startsWith(open))?.[1];
  let from = start;
  if (close !== undefined) {
    const at = text.indexOf(close, start + 1);
    if (at === -1) return undefined;
    from = at;
  }
  const nl = text.indexOf('\n', from);
  return nl === -1 ? undefined : nl;
}

/** `text` without surrounding quotes and white space, and without the line breaks and spaces chat apps wrap a long code with. */
function unwrapped(text: string): string {
  let t = text.trim();
  for (let again = true; again; ) {
    again = false;
    for (const [open, close] of WRAPPERS) {
      if (t.length >= open.length + close.length && t.startsWith(open) && t.endsWith(close)) {
        t = t.slice(open.length, -close.length).trim();
        again = true;
      }
    }
  }
  return t.replace(/\s+/g, '');
}

/** Why a code whose payload has characters base64url never has cannot be used, in words that say what to do. */
function strangeCharacters(payload: string): string {
  if (/(\u2026|\.\.\.)$/.test(payload)) {
    return `the join code ends in "…": what was copied is a shortened display of it (chat apps and terminals shorten long text); copy the whole code again, from "${JOIN_CODE_PREFIX}" to its end`;
  }
  const odd = [...new Set(payload.replace(/[A-Za-z0-9_-]/g, ''))];
  const shown = odd.slice(0, 5).map((c) => JSON.stringify(c)).join(' ');
  if (odd.every((c) => WRAPPERS.some(([open, close]) => c === open || c === close))) {
    return `the join code has a quote mark in it (${shown}); give the code alone, from "${JOIN_CODE_PREFIX}" to its end, without quotes`;
  }
  return `the join code is damaged: it has characters a join code never has (${shown}; after "${JOIN_CODE_PREFIX}" a code has only letters, digits, - and _); copy the whole code again, exactly as it was shared`;
}

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

/** `payload` (base64url) decoded as text, or undefined when it is not whole base64url. */
function decodedText(payload: string): string | undefined {
  try {
    return new TextDecoder().decode(base64urlnopad.decode(payload));
  } catch {
    return undefined;
  }
}

/**
 * What follows a whole code in `payload`, or undefined: a shorter start of it that decodes to a
 * JSON object is the code, the rest was typed or pasted after it (a trial: "xyz" after a code was
 * called a code "cut off"). Base64 decodes each group of four characters alone, so the code's
 * own characters decode the same with anything after them. Looked for only in a code that is
 * no code as it is; at most 200 characters back.
 */
function textAfterCode(payload: string): string | undefined {
  for (let end = payload.length - 1; end > 0 && end >= payload.length - 200; end--) {
    const text = decodedText(payload.slice(0, end));
    if (text === undefined || !text.endsWith('}')) continue;
    try {
      const body: unknown = JSON.parse(text);
      if (typeof body === 'object' && body !== null) return payload.slice(end);
    } catch {
      // not the code's end
    }
  }
  return undefined;
}

/**
 * The JSON body of a code's payload. A code's body is one JSON object: a payload that decodes
 * to the start of one without its end was cut off, not damaged, and is said to be; one with
 * characters after its end is said to have them.
 */
function bodyOf(payload: string): unknown {
  const text = decodedText(payload);
  if (text === undefined || !text.endsWith('}')) {
    const after = textAfterCode(payload);
    if (after !== undefined) {
      throw new JoinCodeError(`the join code has other characters after its end (${JSON.stringify(after.length > 40 ? `${after.slice(0, 40)}…` : after)}); give the code alone, from "${JOIN_CODE_PREFIX}" to its end`);
    }
    // The whole groups of four characters always decode: do they begin a JSON object?
    const head = decodedText(payload.slice(0, payload.length - (payload.length % 4))) ?? '';
    const begins = head === '' ? 'eyJ'.startsWith(payload.slice(0, 3)) : head.startsWith('{');
    throw new JoinCodeError(begins ? INCOMPLETE : DAMAGED);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new JoinCodeError(DAMAGED);
  }
}

export function decodeJoinCode(text: string): JoinCode {
  const trimmed = unwrapped(text);
  if (trimmed === '') throw new JoinCodeError(`no join code was given (the text is empty); give the whole code, which starts with "${JOIN_CODE_PREFIX}"`);
  if (!trimmed.startsWith(JOIN_CODE_PREFIX)) {
    if (trimmed.startsWith('chorus1.')) {
      throw new JoinCodeError('this join code is from an older Chorus, whose codes are no longer accepted (read-only access is now part of the code); ask whoever shared the session for a new code (`chorus share` prints it)');
    }
    if (/^chorus\d+\./.test(trimmed)) throw new JoinCodeError('this join code is from a different Chorus version; upgrade Chorus on the older machine');
    if (JOIN_CODE_PREFIX.startsWith(trimmed)) throw new JoinCodeError(INCOMPLETE);
    const at = trimmed.indexOf(JOIN_CODE_PREFIX);
    if (at > 0 && trimmed[at - 1] === '#') {
      throw new JoinCodeError(`that is the link for a browser, not the join code; the code is its part after "#", from "${JOIN_CODE_PREFIX}" on`);
    }
    if (at > 0) {
      const before = trimmed.slice(0, at);
      throw new JoinCodeError(`there is other text before the join code (${JSON.stringify(before.length > 40 ? `${before.slice(0, 40)}…` : before)}); give the code alone, from "${JOIN_CODE_PREFIX}" to its end`);
    }
    throw new JoinCodeError(`not a Chorus join code (it should start with "${JOIN_CODE_PREFIX}")`);
  }
  const payload = trimmed.slice(JOIN_CODE_PREFIX.length);
  if (payload === '') throw new JoinCodeError(INCOMPLETE);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) throw new JoinCodeError(strangeCharacters(payload));
  const body = bodyOf(payload);
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
  // An address no connection can be made to (`ws://127B0.0.1:37777`, a typo in a code someone
  // edited) is said now: dialled, it failed as no network error, and the join waited out its 60 s.
  const unusable = (addrs as string[]).find((a) => !URL.canParse(a));
  if (unusable !== undefined) throw new JoinCodeError(`${DAMAGED} (its address ${JSON.stringify(unusable.slice(0, 80))} is not a valid address)`);
  if (b.r !== undefined && !RelayUrl.safeParse(b.r).success) throw new JoinCodeError(`${DAMAGED} (bad relay URL)`);
  if (addrs.length === 0 && b.r === undefined) throw new JoinCodeError(`${DAMAGED} (no address to reach the session)`);
  const code: JoinCode = { sessionId: b.s, keys, addrs: addrs as string[] };
  if (typeof b.r === 'string') code.relayUrl = b.r;
  return code;
}
