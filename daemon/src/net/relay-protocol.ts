/**
 * Wire format between relay clients and the relay server (binary WebSocket messages).
 *
 *   client → server  JOIN      [0x10] JSON {room, peer}        first message, exactly once
 *   server → client  PEERS     [0x11] JSON {peers: string[]}   reply to JOIN: who else is in the room
 *   server → client  JOINED    [0x12] peer id (utf8)
 *   server → client  LEFT      [0x13] peer id (utf8)
 *   server → client  NOROUTE   [0x14] [idLen u8] [peer id] [link id, 8 bytes]
 *   either way       routed    [0x20..0x2f] [idLen u8] [peer id] [link id, 8 bytes] [opaque payload]
 *
 * In a routed frame from a client the peer id names the destination; the server rewrites it to
 * the source before forwarding and reads nothing past the link id. Routed types the client uses:
 * OPEN 0x20, DATA 0x21, CLOSE 0x22 (payload: utf8 reason).
 *
 * The server ends a connection with a WebSocket close whose reason says why in words: code 1008
 * for a protocol error, 1013 ("try again later") when it is at one of its bounds (a full room,
 * too many connections from one address; decision 194). Clients redial with backoff either way.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

const utf8 = new TextDecoder();

export const enum RelayFrame {
  Join = 0x10,
  Peers = 0x11,
  Joined = 0x12,
  Left = 0x13,
  NoRoute = 0x14,
  Open = 0x20,
  Data = 0x21,
  Close = 0x22,
}

export const LINK_ID_BYTES = 8;
export const MAX_PEER_ID_BYTES = 200;
export const ROOM_ID_PATTERN = /^[0-9a-f]{16,128}$/;

/** The room a session meets in: a one-way function of the secret, so the relay never learns it. */
export function relayRoomId(secret: Uint8Array): string {
  const info = new TextEncoder().encode('chorus-net v1 relay room');
  return bytesToHex(hkdf(sha256, secret, undefined, info, 32));
}

export function isRouted(type: number | undefined): boolean {
  return type !== undefined && type >= 0x20 && type <= 0x2f;
}

export interface Routed {
  type: number;
  peer: string;
  linkId: Uint8Array;
  payload: Uint8Array;
}

export function encodeRouted(type: number, peer: string, linkId: Uint8Array, payload: Uint8Array): Uint8Array {
  const id = utf8ToBytes(peer);
  const out = new Uint8Array(2 + id.length + LINK_ID_BYTES + payload.length);
  out[0] = type;
  out[1] = id.length;
  out.set(id, 2);
  out.set(linkId, 2 + id.length);
  out.set(payload, 2 + id.length + LINK_ID_BYTES);
  return out;
}

/** Parse a routed frame; undefined when it is too short or malformed. */
export function decodeRouted(frame: Uint8Array): Routed | undefined {
  if (frame.length < 2) return undefined;
  const idLen = frame[1]!;
  if (idLen === 0 || frame.length < 2 + idLen + LINK_ID_BYTES) return undefined;
  return {
    type: frame[0]!,
    peer: utf8.decode(frame.subarray(2, 2 + idLen)),
    linkId: frame.subarray(2 + idLen, 2 + idLen + LINK_ID_BYTES),
    payload: frame.subarray(2 + idLen + LINK_ID_BYTES),
  };
}

export function tagged(type: RelayFrame, body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? utf8ToBytes(body) : body;
  const out = new Uint8Array(1 + bytes.length);
  out[0] = type;
  out.set(bytes, 1);
  return out;
}
