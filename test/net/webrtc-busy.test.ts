/**
 * Decision 268: a WebRTC data channel between two daemons comes up the first time while both
 * cores are busy. Before it, about 1 pair in 12 failed its DTLS handshake under load ("DTLS
 * alert: unknown CA"): the answerer's ICE checks had reached the offerer before its answer, so the
 * offerer's ICE connected inside setRemoteDescription, and its DTLS checked the answerer's
 * certificate before libdatachannel had stored the answer's fingerprint. The race is in native
 * threads, so the test loads the machine and makes many pairs, as a busy machine does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectWebRtc, shutdownWebRtc, type Signal, type SignalChannel } from '../../daemon/src/net/webrtc.js';

/** Two signal channels joined back to back: each message arrives in order, as JSON, a timer tick later (as over a link). */
function signalPair(): [SignalChannel, SignalChannel] {
  const handlers: Array<Set<(s: Signal) => void>> = [new Set(), new Set()];
  const end = (me: 0 | 1): SignalChannel => ({
    send: (signal) => {
      const copy = JSON.parse(JSON.stringify(signal)) as Signal;
      setTimeout(() => {
        for (const h of handlers[1 - me]!) h(copy);
      }, 1);
    },
    onSignal: (h) => {
      handlers[me]!.add(h);
      return () => handlers[me]!.delete(h);
    },
  });
  return [end(0), end(1)];
}

const busy: ChildProcess[] = [];
beforeAll(() => {
  // One spinning process per core, for the length of this file only.
  for (let i = 0; i < Math.max(2, cpus().length); i++) busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
});
afterAll(() => {
  for (const p of busy) p.kill('SIGKILL');
  shutdownWebRtc();
});

it('40 data channels made one after another on a busy machine all open the first time', async () => {
  const failures: string[] = [];
  for (let i = 0; i < 40; i++) {
    const [sa, sb] = signalPair();
    const made = await Promise.allSettled([
      connectWebRtc({ role: 'offerer', signals: sa, bindAddress: '127.0.0.1' }),
      connectWebRtc({ role: 'answerer', signals: sb, bindAddress: '127.0.0.1' }),
    ]);
    for (const m of made) {
      if (m.status === 'fulfilled') m.value.close('done');
      else failures.push(`pair ${i}: ${(m.reason as Error).message}`);
    }
  }
  expect(failures).toEqual([]);
}, 240_000);
