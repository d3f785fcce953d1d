// Decision 165: who waits in a handshake. A newcomer is never refused; strangers make room for it
// (the busiest address first, then the oldest); a connection that knocked with the session's
// secret cannot be evicted by strangers, and a knock counts once.
import { expect, it } from 'vitest';
import { HandshakeSlots, sourceOf } from '../../daemon/src/net/handshake-slots.js';

it('names the source of a connection by its address, without the port', () => {
  expect(sourceOf('ws-in:127.0.0.1:5000')).toBe('ws-in:127.0.0.1');
  expect(sourceOf('ws-in:::1:5000')).toBe('ws-in:::1');
  expect(sourceOf('relay:peer-a')).toBe('relay');
  expect(sourceOf('webrtc')).toBe('webrtc');
});

it('a newcomer from the flooding address takes the place of the oldest stranger', () => {
  const slots = new HandshakeSlots<string>(3, 2);
  for (const s of ['a1', 'a2', 'a3']) expect(slots.admit(s, 'A')).toBeUndefined();
  expect(slots.admit('a4', 'A')).toBe('a1');
  expect(slots.admit('a5', 'A')).toBe('a2');
  expect(slots.size).toBe(3);
});

it('a newcomer from another address makes the busiest address give way', () => {
  const slots = new HandshakeSlots<string>(3, 2);
  for (const s of ['b1', 'a1', 'a2']) slots.admit(s, s[0]!.toUpperCase());
  expect(slots.admit('c1', 'C')).toBe('a1');
  // Now one each: the oldest source's oldest goes.
  expect(slots.admit('a3', 'A')).toBe('a2');
  expect(slots.admit('d1', 'D')).toBe('b1');
});

it('a connection that knocked is out of the strangers’ reach; a knock counts once; member slots are capped', () => {
  const slots = new HandshakeSlots<string>(2, 1);
  slots.admit('honest', 'A');
  expect(slots.vouch('honest', 'nonce-1')).toBe(true);
  for (let i = 0; i < 10; i++) expect(slots.admit(`s${i}`, 'A')).not.toBe('honest');
  expect(slots.size).toBe(3);
  // A replayed knock, or one beyond the member slots, leaves the connection a stranger.
  slots.admit('replay', 'A');
  expect(slots.vouch('replay', 'nonce-1')).toBe(false);
  slots.release('honest');
  expect(slots.vouch('replay', 'nonce-1')).toBe(false);
  slots.admit('second', 'A');
  expect(slots.vouch('second', 'nonce-2')).toBe(true);
  slots.admit('third', 'A');
  expect(slots.vouch('third', 'nonce-3')).toBe(false);
  // Releasing is idempotent and frees the slot.
  slots.release('second');
  slots.release('second');
  expect(slots.vouch('third', 'nonce-3')).toBe(true);
});
