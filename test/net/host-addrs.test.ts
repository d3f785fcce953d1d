// Which advertised addresses a daemon dials: same machine → loopback only; another machine →
// never its loopback; untagged addresses as they are.
import { expect, it } from 'vitest';
import { dialable, tagAddr, untagged } from '../../daemon/src/net/host-addrs.js';

it('dials only loopback addresses of a peer on the same host', () => {
  const addrs = [tagAddr('ws://192.0.2.2:4000', 'me'), tagAddr('ws://127.0.0.1:4000', 'me')];
  expect(dialable(addrs, 'me')).toEqual([tagAddr('ws://127.0.0.1:4000', 'me')]);
});

it('never dials another host\'s loopback address', () => {
  const addrs = [tagAddr('ws://127.0.0.1:4000', 'them'), tagAddr('ws://192.0.2.7:4000', 'them')];
  expect(dialable(addrs, 'me')).toEqual([tagAddr('ws://192.0.2.7:4000', 'them')]);
});

it('keeps untagged addresses (an explicit --host), loopback first', () => {
  expect(dialable(['ws://10.1.2.3:5', 'ws://127.0.0.1:5'], 'me')).toEqual(['ws://127.0.0.1:5', 'ws://10.1.2.3:5']);
});

it('shows an address without its host id, as `chorus status` lists it; an untagged one as it is', () => {
  expect(untagged(tagAddr('ws://192.0.2.2:4000', 'b8a1ee5b02aaea96'))).toBe('ws://192.0.2.2:4000');
  expect(untagged(tagAddr('ws://[::1]:4000', 'me'))).toBe('ws://[::1]:4000');
  expect(untagged('ws://127.0.0.1:4000')).toBe('ws://127.0.0.1:4000');
  expect(untagged('wss://relay.example/room?x=1')).toBe('wss://relay.example/room?x=1');
});
