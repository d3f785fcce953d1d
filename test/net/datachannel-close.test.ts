/**
 * Closing a DataChannelLink waits for the peer to close its end. A fake pair of channels here
 * behaves as libdatachannel's did in a full run: tearing one end down closes the other end at
 * once, while the chunks sent before it are still queued for the peer's JavaScript. The old
 * close tore its end down as soon as the close notice had left; the peer then failed to send (a
 * pong, in the overlay) and took it for a lost link ("send failed"), which reset every link to
 * that peer. One module, a fake port: the real channel is in webrtc.test.ts and overlay.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DataChannelLink, type DataChannelPort } from '../../daemon/src/net/datachannel-link.js';

/** Two ends of a channel whose deliveries wait until `flush()`; closing one end closes both at once. */
function channelPair() {
  const state = { open: true };
  const queues: Array<Array<() => void>> = [[], []];
  const links: DataChannelLink[] = [];
  const port = (side: 0 | 1): DataChannelPort => ({
    send(chunk) {
      if (!state.open) throw new Error('DataChannel is closed');
      const copy = chunk.slice();
      queues[1 - side]!.push(() => links[1 - side]!.received(copy));
    },
    isOpen: () => state.open,
    bufferedAmount: () => 0,
    close() {
      if (!state.open) return;
      state.open = false;
      // The peer hears of the close after what it has queued.
      queues[1 - side]!.push(() => links[1 - side]!.ended('data channel closed'));
    },
  });
  links.push(new DataChannelLink(port(0), 'a'), new DataChannelLink(port(1), 'b'));
  /** Deliver everything queued for `side` (0 or 1), in order. */
  const flush = (side: 0 | 1): void => {
    for (const deliver of queues[side]!.splice(0)) deliver();
  };
  return { a: links[0]!, b: links[1]!, flush, state };
}

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe('DataChannelLink close', () => {
  it('waits for the peer to close: the peer reads what came before the notice, and can still send until then', async () => {
    const { a, b, flush, state } = channelPair();
    const gotB: string[] = [];
    b.on('message', (m: Uint8Array) => gotB.push(Buffer.from(m).toString()));
    a.send(Buffer.from('done'));
    a.close('superseded by a better path');
    await tick(); // the old close had torn the channel down by now
    expect(state.open).toBe(true);
    // The peer, not yet having read the notice, sends (a pong): the channel takes it.
    b.send(Buffer.from('pong'));
    expect(b.closeReason).toBeUndefined();
    flush(1); // the peer reads "done", then the notice, and closes its end
    expect(gotB).toEqual(['done']);
    expect(b.closeReason).toBe('closed by peer: superseded by a better path');
    await tick();
    expect(state.open).toBe(false);
    flush(0);
    expect(a.closeReason).toBe('superseded by a better path');
  });

  it('a peer that never answers the notice is closed anyway, after the wait', async () => {
    const { a, state } = channelPair();
    a.close('closed locally');
    await tick(500);
    expect(state.open).toBe(true);
    await tick(2000);
    expect(state.open).toBe(false);
  });
});
