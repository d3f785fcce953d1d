import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Link } from '../../daemon/src/net/link.js';
import { dialWebSocket, listenWebSocket } from '../../daemon/src/net/websocket.js';
import { WebSocketPairs } from './pairs.js';
import { transportAcceptance } from './transport-acceptance.js';

const pairs = new WebSocketPairs();
beforeAll(() => pairs.start());
afterAll(() => pairs.stop());

transportAcceptance('websocket', () => pairs.pair());

describe('websocket listener', () => {
  it('binds an ephemeral port and reports the address it actually got', async () => {
    const listener = await listenWebSocket({ host: '127.0.0.1', port: 0, onLink: () => {} });
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.addrs).toEqual([`ws://127.0.0.1:${listener.port}`]);
    await listener.close();
  });

  it('dialing a closed port rejects with a readable error', async () => {
    const listener = await listenWebSocket({ host: '127.0.0.1', port: 0, onLink: () => {} });
    const url = listener.addrs[0]!;
    await listener.close();
    await expect(dialWebSocket(url)).rejects.toThrow(/cannot reach ws:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  // Regression (issue 10, item 9): before authentication a stranger made the sharer buffer whole
  // 64 MiB frames (12 connections held 686 MB). Now a link takes only handshake-sized frames.
  it('refuses a frame larger than a handshake before the link is authenticated', async () => {
    const [dialer, accepted] = await pairs.pair({ raw: true });
    const got: Uint8Array[] = [];
    accepted.on('message', (m) => got.push(m));
    const closed = new Promise<string>((resolve) => accepted.on('close', resolve));
    dialer.send(new Uint8Array(1024 * 1024));
    expect(await closed).toMatch(/MESSAGE_LENGTH|1009|too big|Max payload/i);
    expect(got).toEqual([]);
    dialer.close();
  });

  // A browser closes every socket of a page it closes, reloads or leaves with 1001, also a page
  // too busy to run its own goodbye: the overlay takes that as the page's goodbye.
  it('says a link went away when the far end closed with 1001 (going away), and not for any other end', async () => {
    const ends: Array<{ code: number; reason: string; wentAway: boolean | undefined }> = [];
    let accepted: (l: Link) => void = () => undefined;
    const listener = await listenWebSocket({ host: '127.0.0.1', port: 0, onLink: (l) => accepted(l) });
    try {
      for (const [code, text] of [[1001, ''], [1001, 'tab closed'], [1000, ''], [1000, 'done'], [4000, '']] as const) {
        const link = new Promise<Link>((resolve) => (accepted = resolve));
        const ws = new WebSocket(listener.addrs[0]!);
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        const l = await link;
        const reason = new Promise<string>((resolve) => l.on('close', resolve));
        ws.close(code, text);
        ends.push({ code, reason: await reason, wentAway: l.wentAway });
      }
      // Lost without a close frame: not gone for good.
      const link = new Promise<Link>((resolve) => (accepted = resolve));
      const ws = new WebSocket(listener.addrs[0]!);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const l = await link;
      const reason = new Promise<string>((resolve) => l.on('close', resolve));
      ws.terminate();
      ends.push({ code: 1006, reason: await reason, wentAway: l.wentAway });
    } finally {
      await listener.close();
    }
    expect(ends).toEqual([
      { code: 1001, reason: 'its page went away (WebSocket code 1001: closed, reloaded or navigated away)', wentAway: true },
      { code: 1001, reason: 'closed by peer: tab closed', wentAway: true },
      { code: 1000, reason: 'connection closed (code 1000)', wentAway: false },
      { code: 1000, reason: 'closed by peer: done', wentAway: false },
      { code: 4000, reason: 'connection closed (code 4000)', wentAway: false },
      { code: 1006, reason: expect.stringMatching(/^connection (lost|closed)/), wentAway: false },
    ]);
  });
});
