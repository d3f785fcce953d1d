// MessageOrder (decision 187) on its own: when a message starts and when its answer is written,
// for each kind of request, with the answers awaited the way vscode-jsonrpc awaits them.
import { describe, expect, it } from 'vitest';
import { MessageOrder, type RequestKind } from '../../daemon/src/editor/request-order.js';

/** A promise settled from outside. */
function later<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A connection's worth of requests: what started, and the answers in the order they were "written". */
function harness() {
  const order = new MessageOrder();
  const events: string[] = [];
  /** As vscode-jsonrpc does: call, then await the very value returned and write the answer. */
  const send = (name: string, kind: RequestKind, run: () => unknown) => {
    const answer = order.request(kind, () => {
      events.push(`start ${name}`);
      return run();
    });
    void (async () => {
      try {
        await answer;
        events.push(`answer ${name}`);
      } catch {
        events.push(`error ${name}`);
      }
    })();
    return answer;
  };
  return { order, events, send };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('MessageOrder', () => {
  it('with nothing pending, a handler runs at once and a plain answer stays plain (no promise, no turn)', () => {
    const order = new MessageOrder();
    let ran = false;
    const answer = order.request('ordered', () => ((ran = true), 42));
    expect(ran).toBe(true);
    expect(answer).toBe(42);
    order.notification(() => (ran = false));
    expect(ran).toBe(false);
  });

  it('an ordered request that waits holds every later message until it is answered', async () => {
    const { order, events, send } = harness();
    const open = later<string>();
    send('open', 'ordered', () => open.promise);
    send('edit', 'applied', () => 'edited');
    order.notification(() => events.push('cursor'));
    await flush();
    expect(events).toEqual(['start open']);
    open.resolve('opened');
    await flush();
    expect(events).toEqual(['start open', 'answer open', 'start edit', 'cursor', 'answer edit']);
  });

  it('an applied request holds nothing, yet later answers wait for its answer', async () => {
    const { events, send } = harness();
    const saved = later<null>();
    send('edit', 'applied', () => saved.promise);
    send('status', 'ordered', () => 'status');
    await flush();
    expect(events).toEqual(['start edit', 'start status']);
    saved.resolve(null);
    await flush();
    expect(events).toEqual(['start edit', 'start status', 'answer edit', 'answer status']);
  });

  it('a detached request holds nothing and its answer holds no other', async () => {
    const { events, send } = harness();
    const joined = later<string>();
    send('join', 'detached', () => joined.promise);
    send('status', 'ordered', () => 'status');
    await flush();
    expect(events).toEqual(['start join', 'start status', 'answer status']);
    joined.resolve('joined');
    await flush();
    expect(events.at(-1)).toBe('answer join');
  });

  it('a failure keeps its place and releases the messages after it', async () => {
    const { events, send } = harness();
    const open = later<string>();
    send('open', 'ordered', () => open.promise.then(() => Promise.reject(new Error('no'))));
    send('bad', 'ordered', () => {
      throw new Error('bad params');
    });
    send('close', 'ordered', () => 'closed');
    open.resolve('');
    await flush();
    expect(events.filter((e) => e.startsWith('start'))).toEqual(['start open', 'start bad', 'start close']);
    expect(events.filter((e) => !e.startsWith('start'))).toEqual(['error open', 'error bad', 'answer close']);
    expect(events.indexOf('error open')).toBeLessThan(events.indexOf('start bad'));
  });
});
