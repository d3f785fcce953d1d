/**
 * The one acceptance suite every transport runs (memory, websocket, webrtc, relay, and the secure
 * wrapper over them). `makePair` returns two connected Links, one per end.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../../daemon/src/net/link.js';

export type PairFactory = () => Promise<[Link, Link]>;

/** Resolve with the first `count` messages `link` receives. */
export function collect(link: Link, count: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const got: Uint8Array[] = [];
    const onMessage = (data: Uint8Array): void => {
      got.push(data);
      if (got.length === count) {
        link.off('message', onMessage);
        link.off('close', onClose);
        resolve(got);
      }
    };
    const onClose = (reason: string): void => reject(new Error(`link closed after ${got.length}/${count} messages: ${reason}`));
    link.on('message', onMessage);
    link.on('close', onClose);
  });
}

export function closed(link: Link): Promise<string> {
  if (link.closeReason !== undefined) return Promise.resolve(link.closeReason);
  return new Promise((resolve) => link.once('close', resolve));
}

function numbered(i: number, tag: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, i);
  new DataView(out.buffer).setUint32(4, tag);
  return out;
}

/**
 * What a transport is expected to do beyond the basics. `sendBuffer`: it reports the bytes handed
 * to `send` and not yet sent (`Link.bufferedAmount`, decision 149); every network transport does,
 * the in-memory one (and anything wrapped around it) has no send buffer to report.
 */
export interface AcceptanceOptions {
  sendBuffer: boolean;
  /**
   * How many 1 MiB messages the send-buffer test sends at once (default 32). Over the relay, 6:
   * the relay drops a reader more than 8 MiB behind (relay-server.ts MAX_BUFFERED_BYTES), and
   * with both ends and the relay on one thread the reader is behind by what was sent at once
   * (32 MiB did that in a full run: "not reading: over 8388608 bytes waiting for it").
   */
  sendBufferMiB?: number;
}

export function transportAcceptance(name: string, makePair: PairFactory, opts: AcceptanceOptions = { sendBuffer: true }): void {
  describe(`${name}: transport acceptance`, () => {
    const open: Link[] = [];
    const pair = async (): Promise<[Link, Link]> => {
      const [a, b] = await makePair();
      open.push(a, b);
      return [a, b];
    };
    afterEach(() => {
      for (const link of open.splice(0)) link.close('test over');
    });

    it('delivers 10,000 messages each way, complete and in order', async () => {
      const [a, b] = await pair();
      const n = 10_000;
      const atB = collect(b, n);
      const atA = collect(a, n);
      for (let i = 0; i < n; i++) {
        a.send(numbered(i, 0xa));
        b.send(numbered(i, 0xb));
      }
      const [fromA, fromB] = await Promise.all([atB, atA]);
      fromA.forEach((m, i) => {
        const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
        expect([v.getUint32(0), v.getUint32(4)]).toEqual([i, 0xa]);
      });
      fromB.forEach((m, i) => {
        const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
        expect([v.getUint32(0), v.getUint32(4)]).toEqual([i, 0xb]);
      });
    });

    it('carries 1 MiB and 5 MiB messages byte-exact, interleaved with small ones in order', async () => {
      const [a, b] = await pair();
      const big1 = new Uint8Array(randomBytes(1024 * 1024));
      const big5 = new Uint8Array(randomBytes(5 * 1024 * 1024));
      const small = new Uint8Array([1, 2, 3]);
      const got = collect(b, 4);
      a.send(big1);
      a.send(small);
      a.send(big5);
      a.send(new Uint8Array(0));
      const [m1, m2, m3, m4] = await got;
      expect(Buffer.from(m1!).equals(Buffer.from(big1))).toBe(true);
      expect(Array.from(m2!)).toEqual([1, 2, 3]);
      expect(m3!.length).toBe(big5.length);
      expect(Buffer.from(m3!).equals(Buffer.from(big5))).toBe(true);
      expect(m4!.length).toBe(0);
    });

    it('holds messages that arrive before anyone listens', async () => {
      const [a, b] = await pair();
      for (let i = 0; i < 5; i++) a.send(numbered(i, 7));
      await new Promise((r) => setTimeout(r, 200));
      const got = await collect(b, 5);
      expect(got.map((m) => m[3])).toEqual([0, 1, 2, 3, 4]);
    });

    it('hands a burst on over several turns of the event loop when taking it in is slow, in order (decision 246)', async () => {
      const [a, b] = await pair();
      // Each message costs its listener 5 ms (a document made live for it, say): 40 of them
      // arriving together took 200 ms in one go, and the process answered nothing meanwhile.
      const n = 40;
      const order: Array<number | 'turn'> = [];
      let turning = true;
      const turn = (): void => {
        if (order.at(-1) !== 'turn') order.push('turn');
        if (turning) setImmediate(turn);
      };
      const all = new Promise<void>((resolve) => {
        b.on('message', (m) => {
          const end = performance.now() + 5;
          while (performance.now() < end) {
            // taking it in
          }
          order.push(m[3]!);
          if (order.filter((o) => o !== 'turn').length === n) resolve();
        });
      });
      turn();
      for (let i = 0; i < n; i++) a.send(numbered(i, 9));
      await all;
      turning = false;
      expect(order.filter((o) => o !== 'turn')).toEqual(Array.from({ length: n }, (_, i) => i));
      let longest = 0;
      let run = 0;
      for (const o of order) {
        run = o === 'turn' ? 0 : run + 1;
        longest = Math.max(longest, run);
      }
      expect(longest, order.join(' ')).toBeLessThan(n / 2);
    });

    it('reports close on both sides, once, with a reason; send after close is a no-op', async () => {
      const [a, b] = await pair();
      let aCloses = 0;
      let bCloses = 0;
      a.on('close', () => aCloses++);
      b.on('close', () => bCloses++);
      const bClosed = closed(b);
      a.close('test closing');
      const reasonB = await bClosed;
      expect(reasonB.length).toBeGreaterThan(0);
      expect(a.closeReason).toBe('test closing');
      expect(b.closeReason).toBe(reasonB);
      a.close('again');
      b.close('again');
      expect(() => a.send(new Uint8Array([1]))).not.toThrow();
      expect(() => b.send(new Uint8Array([1]))).not.toThrow();
      await new Promise((r) => setTimeout(r, 100));
      expect([aCloses, bCloses]).toEqual([1, 1]);
    });

    if (opts.sendBuffer) {
      it('reports the bytes it has not sent yet, and none once they are delivered', async () => {
        const [a, b] = await pair();
        expect(a.bufferedAmount?.()).toBe(0);
        // 32 MiB: under load SCTP drained twelve 1 MiB sends as fast as they were queued (a full
        // run, 2026-12-03), so enough is sent that the drain cannot keep up with the loop.
        const n = opts.sendBufferMiB ?? 32;
        const got = collect(b, n);
        got.catch(() => undefined); // if an expect below fails first, the link's close at test end is not a second error
        // Sent in one synchronous loop of sends only (the payloads are made first), so what the
        // kernel's socket buffers (or SCTP's) of a fresh connection cannot take waits unsent and is
        // counted. For WebSocket and the relay nothing drains meanwhile: both ends (and the relay)
        // run on this thread. WebRTC's SCTP runs on libdatachannel's own threads and drains while
        // this loop runs (under load, once, the queue was empty by the loop's end: CI of stop 31),
        // so the largest amount seen after any send is what must be above 0.
        const payloads = Array.from({ length: n }, () => new Uint8Array(randomBytes(1024 * 1024)));
        let most = 0;
        for (const payload of payloads) {
          a.send(payload);
          most = Math.max(most, a.bufferedAmount!());
        }
        expect(most).toBeGreaterThan(0);
        expect((await got).map((m) => m.length)).toEqual(new Array(n).fill(1024 * 1024));
        const end = Date.now() + 20_000;
        while (a.bufferedAmount!() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        expect(a.bufferedAmount!()).toBe(0);
      });
    }

    it('works again with a fresh pair after a close (reconnect)', async () => {
      const [a1, b1] = await pair();
      const gone = closed(a1);
      b1.close('first pair done');
      await gone;
      const [a2, b2] = await pair();
      const got = collect(a2, 1);
      b2.send(new Uint8Array([42]));
      expect(Array.from((await got)[0]!)).toEqual([42]);
    });
  });
}
