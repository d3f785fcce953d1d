// A link hands a burst of received messages on over several turns of the event loop (decision
// 246). The slice of each turn is shared by every link, and the links' turns run in the order
// they were scheduled: a link behind a busy one got nothing until that one's whole burst was
// handed on. A joiner took 11 s of one member's documents before it read another member's pings,
// and dropped that member's link as silent. Pinned here: a link behind a busy one still gets its
// messages handed on, and a message counts as received the moment it arrives.
import { expect, it } from 'vitest';
import { memoryPair } from '../../daemon/src/net/memory.js';

it("a link behind another link's slow burst still has its messages handed on, and counts them received when they arrive", async () => {
  const [busySender, busy] = memoryPair();
  const [quietSender, quiet] = memoryPair();
  const order: string[] = [];
  const n = 60;
  let quietReceivedAt = -1;
  busy.on('message', (m) => {
    // Each costs 5 ms (a document made live for it, say): the burst takes 300 ms.
    const end = performance.now() + 5;
    while (performance.now() < end) {
      // taking it in
    }
    order.push(`busy ${m[0]}`);
    if (quietReceivedAt < 0 && quiet.lastReceived > 0) quietReceivedAt = order.length;
  });
  quiet.on('message', (m) => order.push(`quiet ${m[0]}`));
  const done = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (order.length === n + 3) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
  for (let i = 0; i < n; i++) busySender.send(new Uint8Array([i]));
  for (let i = 0; i < 3; i++) quietSender.send(new Uint8Array([i]));
  await done;
  const lastBusy = order.lastIndexOf(`busy ${n - 1}`);
  expect(order.filter((o) => o.startsWith('quiet'))).toEqual(['quiet 0', 'quiet 1', 'quiet 2']);
  expect(order.indexOf('quiet 2'), order.join(', ')).toBeLessThan(lastBusy);
  // The quiet link's messages had arrived (and counted) while the busy burst was still being handed on.
  expect(quietReceivedAt).toBeGreaterThan(0);
  expect(quietReceivedAt).toBeLessThan(lastBusy);
  for (const l of [busySender, busy, quietSender, quiet]) l.close('test over');
});
