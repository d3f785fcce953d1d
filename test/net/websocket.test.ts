import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
