import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialWebSocket, listenWebSocket } from '../../daemon/src/net/websocket.js';
import { WebSocketPairs } from './pairs.js';
import { transportAcceptance } from './transport-acceptance.js';

const pairs = new WebSocketPairs();
beforeAll(() => pairs.start());
afterAll(() => pairs.stop());

transportAcceptance('websocket', pairs.pair);

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
});
