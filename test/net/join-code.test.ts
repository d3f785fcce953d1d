import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { writerKeys } from '../../daemon/src/net/credentials.js';
import { CODE_OTHER_ADDRS, codeAddrs, decodeJoinCode, encodeJoinCode, isReadOnly, JoinCodeError, pastedCodeLength, type JoinCode } from '../../daemon/src/net/join-code.js';
import { pageLink } from '../../daemon/src/net/page-link.js';

const keys = writerKeys(new Uint8Array(randomBytes(32)));
const code: JoinCode = {
  sessionId: 'sess-1',
  keys,
  addrs: ['ws://127.0.0.1:4001', 'ws://[::1]:4001'],
  relayUrl: 'wss://relay.example:443/',
};
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const raw = (body: unknown) => 'chorus2.' + Buffer.from(JSON.stringify(body)).toString('base64url');

describe('join codes', () => {
  it('round-trips every field', () => {
    const text = encodeJoinCode(code);
    expect(text.startsWith('chorus2.')).toBe(true);
    expect(text).toMatch(/^[A-Za-z0-9._-]+$/); // one copy-pasteable token
    expect(decodeJoinCode(text)).toEqual(code);
    expect(isReadOnly(decodeJoinCode(text))).toBe(false);
  });

  // Regression (issue 10, item 2): a read-only code carried the writer secret and a self-declared flag.
  it('a read-only code holds no writer secret, and nothing in it can be edited into a writer code', () => {
    const text = encodeJoinCode(code, { readOnly: true });
    const decoded = decodeJoinCode(text);
    expect(isReadOnly(decoded)).toBe(true);
    expect(decoded.keys.writer).toBeUndefined();
    expect(decoded.keys.read).toEqual(keys.read);
    expect(decoded.keys.writerKey).toEqual(keys.writerKey);
    const body = Buffer.from(text.slice('chorus2.'.length), 'base64url').toString();
    expect(body).not.toContain(b64(keys.writer!));
    expect(body).not.toMatch(/"k"/);
    // Putting R where S goes gives a code whose secret proves nothing (another session's keys).
    const forged = decodeJoinCode(raw({ ...JSON.parse(body), k: JSON.parse(body).ro }));
    expect(forged.keys.read).not.toEqual(keys.read);
  });

  it('round-trips a relay-only, read-write code, and survives whitespace from chat apps', () => {
    const c: JoinCode = { sessionId: 's', keys, addrs: [], relayUrl: 'ws://127.0.0.1:9' };
    const text = encodeJoinCode(c);
    const wrapped = ` ${text.slice(0, 20)}\n${text.slice(20)} `;
    expect(decodeJoinCode(wrapped)).toEqual(c);
  });

  it('explains garbage in words a person can act on', () => {
    const text = encodeJoinCode(code);
    const cases: Array<[string, RegExp]> = [
      ['hello', /not a Chorus join code/],
      ['chorus3.abc', /different Chorus version/],
      ['chorus1.' + Buffer.from('{"s":"x"}').toString('base64url'), /older Chorus.*ask .* for a new code/],
      [text.slice(0, text.length - 10), /incomplete: its end is missing \(it was cut off where it was copied\); copy the whole code again/],
      ['chorus2.!!!', /damaged.*characters/],
      [raw({ s: 'x', k: 'AAAA', a: [] }), /secret has the wrong length/],
      [raw({ s: 'x', ro: b64(keys.read), a: ['ws://x'] }), /no writer key/],
      [raw({ s: 'x', k: b64(keys.writer!), a: ['http://x'] }), /bad address list/],
      // A typo in an address (a trial's edited code waited 60 s, then blamed the network).
      [raw({ s: 'x', k: b64(keys.writer!), a: ['ws://127.0.0.1:4000', 'ws://127B0.0.1:37777'] }), /damaged.*its address "ws:\/\/127B0\.0\.1:37777" is not a valid address/],
      [raw({ s: 'x', k: b64(keys.writer!), a: [] }), /no address/],
    ];
    for (const [input, message] of cases) {
      expect(() => decodeJoinCode(input), input).toThrow(JoinCodeError);
      expect(() => decodeJoinCode(input), input).toThrow(message);
    }
  });

  it('says a code has characters after its end, not that it was cut off; a code cut short is still called so', () => {
    // A trial: "xyz" typed after a code was called "incomplete: its end is missing".
    for (const code2 of [encodeJoinCode(code), encodeJoinCode({ ...code, addrs: ['ws://10.0.0.1:1', 'ws://10.0.0.2:2'] }, { readOnly: true })]) {
      for (const extra of ['x', 'xy', 'xyz', 'abcd', 'Z'.repeat(60)]) {
        expect(() => decodeJoinCode(code2 + extra), extra).toThrow(new RegExp(`other characters after its end \\("${extra.slice(0, 40)}(…)?"\\); give the code alone`));
      }
      for (let cut = 1; cut <= 24; cut++) expect(() => decodeJoinCode(code2.slice(0, -cut)), String(cut)).toThrow(/incomplete: its end is missing/);
    }
  });

  it('refuses to encode a code nobody could use', () => {
    expect(() => encodeJoinCode({ ...code, keys: { ...keys, writer: new Uint8Array(8) } })).toThrow(/32 bytes/);
    expect(() => encodeJoinCode({ sessionId: 'x', keys, addrs: [] })).toThrow(/at least one address/);
  });
});

describe('pastedCodeLength (a code read line by line)', () => {
  it('ends a plain code at its first line break, a quoted one at the line where its quote closes', () => {
    expect(pastedCodeLength('chorus2.abc\nmore\n')).toBe(11);
    expect(pastedCodeLength('chorus2.abc')).toBeUndefined(); // no line break yet: read on
    expect(pastedCodeLength('  "chorus2.ab\n')).toBeUndefined(); // the quote is still open
    expect(pastedCodeLength('  "chorus2.ab\ncd"\nnext\n')).toBe(17);
    expect(pastedCodeLength('\u201cchorus2.ab\ncd\u201d\n')).toBe(15);
    expect(pastedCodeLength('"chorus2.abcd"\r\n')).toBe(15);
  });
});

describe('codeAddrs (which addresses a code gives)', () => {
  const at = (n: number, host: string) => [`ws://127.0.0.1:${4000 + n}/?host=${host}`, `ws://192.168.1.${n}:${4000 + n}/?host=${host}`];
  it("gives the giver's own addresses, then the freshest few of the others', none twice", () => {
    const own = at(1, 'aaaaaaaaaaaaaaaa');
    // 13 other members on two machines (a trial's session of 14), freshest first; one of the
    // giver's own addresses among them too (a saved list from an earlier run).
    const others = [own[1]!, ...Array.from({ length: 13 }, (_, i) => at(i + 2, i % 2 ? 'bbbbbbbbbbbbbbbb' : 'cccccccccccccccc')).flat()];
    const addrs = codeAddrs(own, others);
    expect(addrs).toEqual([...own, ...others.slice(1, 1 + CODE_OTHER_ADDRS)]);
    const long = encodeJoinCode({ sessionId: 'a'.repeat(32), keys, addrs: [...own, ...others.slice(1)] });
    const short = encodeJoinCode({ sessionId: 'a'.repeat(32), keys, addrs });
    expect(decodeJoinCode(short).addrs).toEqual(addrs);
    expect({ long: long.length > 1800, short: short.length < 600 }).toEqual({ long: true, short: true });
  });

  it('gives every address when there are few, and the others alone when the giver has none (relay only)', () => {
    expect(codeAddrs(at(1, 'a'), at(2, 'b'))).toEqual([...at(1, 'a'), ...at(2, 'b')]);
    expect(codeAddrs([], at(2, 'b'))).toEqual(at(2, 'b'));
    expect(codeAddrs(at(1, 'a'), [])).toEqual(at(1, 'a'));
  });
});

describe('page links', () => {
  const text = encodeJoinCode({ sessionId: 's', keys, addrs: ['ws://[::1]:4001', 'ws://127.0.0.1:4001', 'ws://[fd00::5]:4001', 'ws://192.0.2.2:4001'] });
  it('for others, a LAN address (IPv4 first); for this machine, a loopback one (a secure context for the page)', () => {
    expect(pageLink(text)).toBe(`http://192.0.2.2:4001/#${text}`);
    expect(pageLink(text, 'here')).toBe(`http://127.0.0.1:4001/#${text}`);
  });
  it('a code with loopback only, or LAN only, gives the one it has either way; a relay only, the relay', () => {
    const lan = encodeJoinCode({ sessionId: 's', keys, addrs: ['ws://192.0.2.2:4001'] });
    expect(pageLink(lan, 'here')).toBe(`http://192.0.2.2:4001/#${lan}`);
    const loop = encodeJoinCode({ sessionId: 's', keys, addrs: ['ws://127.0.0.1:4001'] });
    expect(pageLink(loop)).toBe(`http://127.0.0.1:4001/#${loop}`);
    const relayed = encodeJoinCode({ sessionId: 's', keys, addrs: [], relayUrl: 'wss://relay.example:443/' });
    expect(pageLink(relayed, 'here')).toBe(`https://relay.example/#${relayed}`);
  });
});
