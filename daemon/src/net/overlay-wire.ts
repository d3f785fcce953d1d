/**
 * Messages the overlay exchanges inside a secure link. First byte is the type; bodies are JSON
 * except DATA and FLOOD (opaque bytes for the layer above), PING/PONG (8-byte timestamp) and BEGIN/END.
 * Every inbound message is validated here, once; anything malformed is a ProtocolError and closes
 * only the link it came on.
 */

import { NAME_MAX_LENGTH } from '../presence/person-name.js';

/**
 * `raw` (a hello's `meta.name`, or a name already heard) as a member list may carry it: a
 * non-empty string of at most NAME_MAX_LENGTH code units, else undefined. A member passes on only
 * such a name: a hello may carry a longer one (a hostile member's megabyte of a name), and passed
 * on it would close every link it went on (`parseMembers` refuses it).
 */
export function memberName(raw: unknown): string | undefined {
  return typeof raw === 'string' && raw.length > 0 && raw.length <= NAME_MAX_LENGTH ? raw : undefined;
}

export const enum Wire {
  /** First message on every link: who I am, where I listen. JSON Hello. */
  Hello = 0x01,
  /** Payload for the layer above. */
  Data = 0x02,
  /** Membership gossip. JSON {members: Member[]}. */
  Members = 0x03,
  Ping = 0x04,
  Pong = 0x05,
  /** WebRTC signalling. JSON {a: attempt id, s: Signal}. */
  Signal = 0x06,
  /** My stream of DATA to you starts on this link. */
  Begin = 0x07,
  /** I send no more DATA on this link; it continues on the link whose id follows (utf8). */
  End = 0x08,
  /** I am leaving the session for good; body is a utf8 reason. */
  Bye = 0x09,
  /**
   * Payload for the layer above, sent to every member: the receiver delivers it once and relays
   * it in a partial mesh (flood.ts). Same ordered stream as DATA.
   */
  Flood = 0x0a,
  /**
   * I have read all of your stream I will read on this link (I read your END and went past it, or
   * it never carried your stream): it may close without losing anything of yours (decision 105).
   */
  Done = 0x0b,
  /**
   * My join is done: I am a member now, which my hello (its meta's `joining`) said I was not yet.
   * No body. A peer that never heard it forgets me if my link goes (decision 229).
   */
  Joined = 0x0c,
}

export interface Member {
  id: string;
  addrs: string[];
  /** Incarnation: when this run of the peer started (ms). A higher one supersedes older addrs. */
  inc: number;
  /** In gossip: ms since the sender last had news of this member (0: connected to it now). */
  age?: number;
  /**
   * In gossip: the name the member's own hello gave the sender (or the sender heard in gossip),
   * so a member that cannot reach it now (it is down, and this one restarted) lists it by name.
   */
  name?: string;
}

export interface Hello {
  session: string;
  meta: Record<string, unknown>;
  addrs: string[];
  inc: number;
  /** Whether this peer will negotiate WebRTC. */
  rtc: boolean;
}

export class ProtocolError extends Error {}

const utf8 = new TextDecoder();
const toUtf8 = new TextEncoder();

/** Most addresses one hello or member entry may list (and the overlay keeps for a member). */
export const MAX_ADDRS = 32;
/** Most members one member list may carry (a longer one is refused, and its link closed). */
export const MAX_MEMBERS = 256;
/** Longest peer or session id a hello or member list may carry (ids are 32 hex digits). */
export const MAX_ID_LENGTH = 200;

export function frame(type: Wire, body?: Uint8Array | string): Uint8Array {
  const bytes = body === undefined ? new Uint8Array(0) : typeof body === 'string' ? toUtf8.encode(body) : body;
  const out = new Uint8Array(1 + bytes.length);
  out[0] = type;
  out.set(bytes, 1);
  return out;
}

export function jsonFrame(type: Wire, value: unknown): Uint8Array {
  return frame(type, JSON.stringify(value));
}

export function parseJson(body: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw new ProtocolError(`malformed ${what} (not JSON)`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError(`malformed ${what} (not an object)`);
  return value as Record<string, unknown>;
}

function addrList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_ADDRS || !value.every((a) => typeof a === 'string' && /^wss?:\/\/[^\s]{1,300}$/.test(a))) {
    throw new ProtocolError(`malformed ${what} (bad address list)`);
  }
  return value as string[];
}

export function parseHello(body: Uint8Array): Hello {
  const h = parseJson(body, 'hello');
  if (typeof h.session !== 'string' || h.session.length > MAX_ID_LENGTH) throw new ProtocolError('malformed hello (session id missing or too long)');
  if (typeof h.meta !== 'object' || h.meta === null || Array.isArray(h.meta)) throw new ProtocolError('malformed hello (bad meta)');
  if (typeof h.inc !== 'number' || !Number.isFinite(h.inc)) throw new ProtocolError('malformed hello (bad incarnation)');
  return { session: h.session, meta: h.meta as Record<string, unknown>, addrs: addrList(h.addrs, 'hello'), inc: h.inc, rtc: h.rtc === true };
}

export function parseMembers(body: Uint8Array): Member[] {
  const m = parseJson(body, 'member list');
  if (!Array.isArray(m.members) || m.members.length > MAX_MEMBERS) throw new ProtocolError('malformed member list');
  return m.members.map((x: unknown) => {
    if (typeof x !== 'object' || x === null) throw new ProtocolError('malformed member');
    const r = x as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > MAX_ID_LENGTH) throw new ProtocolError('malformed member (bad id)');
    if (typeof r.inc !== 'number' || !Number.isFinite(r.inc)) throw new ProtocolError('malformed member (bad incarnation)');
    const age = typeof r.age === 'number' && Number.isFinite(r.age) && r.age >= 0 ? r.age : 0;
    if (r.name !== undefined && (typeof r.name !== 'string' || r.name.length > NAME_MAX_LENGTH)) throw new ProtocolError('malformed member (bad name)');
    return { id: r.id, addrs: addrList(r.addrs, 'member'), inc: r.inc, age, ...(r.name ? { name: r.name } : {}) };
  });
}
