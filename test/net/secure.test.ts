import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Link } from '../../daemon/src/net/link.js';
import { memoryPair, type MemoryLink } from '../../daemon/src/net/memory.js';
import { HandshakeError, MAX_MESSAGE_BYTES, MessageTooLargeError, NET_VERSION, secureHandshake, type SecureLink } from '../../daemon/src/net/secure.js';
import { WebSocketPairs } from './pairs.js';
import { closed, collect, transportAcceptance } from './transport-acceptance.js';

const secret = new Uint8Array(randomBytes(32));

async function secure(a: Link, b: Link, secretA = secret, secretB = secret): Promise<[SecureLink, SecureLink]> {
  return Promise.all([secureHandshake(a, { secret: secretA, selfId: 'peer-a' }), secureHandshake(b, { secret: secretB, selfId: 'peer-b' })]);
}

const wsPairs = new WebSocketPairs();
beforeAll(() => wsPairs.start());
afterAll(() => wsPairs.stop());

transportAcceptance('secure over memory', async () => secure(...memoryPair()), { sendBuffer: false }); // the memory link has none to report
transportAcceptance('secure over websocket', async () => secure(...(await wsPairs.pair())));

describe('secure handshake', () => {
  it('authenticates both ids and agrees on one link id', async () => {
    const [a, b] = await secure(...memoryPair());
    expect(a.peerId).toBe('peer-b');
    expect(b.peerId).toBe('peer-a');
    expect(a.linkId).toBe(b.linkId);
    expect(a.linkId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a wrong secret on both sides with a reason a person can act on, and delivers nothing', async () => {
    const [ra, rb] = memoryPair();
    const seen: Uint8Array[] = [];
    const results = await Promise.allSettled([
      secureHandshake(ra, { secret, selfId: 'peer-a' }),
      secureHandshake(rb, { secret: new Uint8Array(randomBytes(32)), selfId: 'peer-b' }),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as HandshakeError;
      expect(err).toBeInstanceOf(HandshakeError);
      expect(err.message).toMatch(/session secret does not match|refused by peer/);
    }
    ra.on('message', (m) => seen.push(m));
    await closed(ra);
    await closed(rb);
    expect(seen).toEqual([]);
  });

  it('refuses garbage in place of a hello and never lets it through', async () => {
    const [raw, other] = memoryPair();
    const hs = secureHandshake(raw, { secret, selfId: 'peer-a' });
    const refusal = collect(other, 2); // our hello, then the refusal
    other.send(new Uint8Array([0x01, 0xff, 0xfe, 0x00]));
    await expect(hs).rejects.toThrow(/not valid JSON/);
    const [, refuse] = await refusal;
    expect(refuse![0]).toBe(3);
    expect(Buffer.from(refuse!.subarray(1)).toString()).toMatch(/garbage or truncated/);
  });

  it('refuses an unknown frame type and a proof before a hello', async () => {
    for (const bogus of [new Uint8Array([0x09, 1, 2]), new Uint8Array([0x02, ...randomBytes(32)]), new Uint8Array(0)]) {
      const [raw, other] = memoryPair();
      const hs = secureHandshake(raw, { secret, selfId: 'peer-a' });
      other.send(bogus);
      await expect(hs).rejects.toThrow(/unexpected frame during handshake/);
    }
  });

  it('names a protocol version mismatch', async () => {
    const [raw, other] = memoryPair();
    const hs = secureHandshake(raw, { secret, selfId: 'peer-a' });
    const hello = JSON.stringify({ p: 'chorus-net', v: 99, id: 'x', n: Buffer.alloc(32).toString('base64') });
    other.send(new Uint8Array([1, ...Buffer.from(hello)]));
    await expect(hs).rejects.toThrow(new RegExp(`v99.*v${NET_VERSION}.*upgrade`));
  });

  it('times out a silent peer', async () => {
    const [raw] = memoryPair();
    await expect(secureHandshake(raw, { secret, selfId: 'peer-a', timeoutMs: 100 })).rejects.toThrow(/timed out/);
    expect(raw.closeReason).toBe('handshake timed out');
  });

  it('rejects a secret of the wrong size before sending anything', async () => {
    const [raw] = memoryPair();
    await expect(secureHandshake(raw, { secret: new Uint8Array(16), selfId: 'a' })).rejects.toThrow(/32 bytes/);
  });
});

describe('secure frames after the handshake', () => {
  async function established(): Promise<{ a: SecureLink; b: SecureLink; rawA: MemoryLink; rawB: MemoryLink }> {
    const [rawA, rawB] = memoryPair();
    const [a, b] = await secure(rawA, rawB);
    return { a, b, rawA, rawB };
  }

  it('closes the link on a garbage frame, with a logged reason, without throwing', async () => {
    const { a, rawA } = await established();
    rawA.receive(new Uint8Array(randomBytes(100)));
    expect(await closed(a)).toMatch(/failed to decrypt/);
  });

  it('closes the link on a truncated frame', async () => {
    const { a, rawA } = await established();
    rawA.receive(new Uint8Array([1, 2, 3]));
    expect(await closed(a)).toMatch(/truncated frame/);
  });

  it('rejects a replayed frame (the nonce is an implicit counter)', async () => {
    const { a, b, rawB } = await established();
    const frames: Uint8Array[] = [];
    rawB.on('message', (m) => frames.push(m));
    const got = collect(b, 1);
    a.send(new Uint8Array([7]));
    await got;
    rawB.receive(frames[0]!);
    expect(await closed(b)).toMatch(/failed to decrypt/);
  });

  it('never puts plaintext on the underlying link', async () => {
    const { a, b, rawB } = await established();
    const wire: Buffer[] = [];
    rawB.on('message', (m) => wire.push(Buffer.from(m)));
    const got = collect(b, 1);
    a.send(Buffer.from('PLAINTEXT-MARKER-secure-test'));
    await got;
    expect(Buffer.concat(wire).includes('PLAINTEXT-MARKER')).toBe(false);
  });

  it('refuses to send a message over the frame limit with a clear error', async () => {
    const { a } = await established();
    expect(() => a.send(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toThrow(MessageTooLargeError);
    expect(() => a.send(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toThrow(/exceeds the 64 MiB frame limit/);
  });
});
