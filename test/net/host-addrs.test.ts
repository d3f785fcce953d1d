// Which advertised addresses a daemon dials: same machine → loopback only; another machine →
// never its loopback; untagged addresses as they are.
import { expect, it } from 'vitest';
import { dialable, tagAddr } from '../../daemon/src/net/host-addrs.js';

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
