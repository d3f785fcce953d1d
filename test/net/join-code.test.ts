import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeJoinCode, encodeJoinCode, JoinCodeError, type JoinCode } from '../../daemon/src/net/join-code.js';

const code: JoinCode = {
  sessionId: 'sess-1',
  secret: new Uint8Array(randomBytes(32)),
  addrs: ['ws://127.0.0.1:4001', 'ws://[::1]:4001'],
  relayUrl: 'wss://relay.example:443/',
  readOnly: true,
};

describe('join codes', () => {
  it('round-trips every field', () => {
    const text = encodeJoinCode(code);
    expect(text.startsWith('chorus1.')).toBe(true);
    expect(text).toMatch(/^[A-Za-z0-9._-]+$/); // one copy-pasteable token
    expect(decodeJoinCode(text)).toEqual(code);
  });

  it('round-trips a relay-only, read-write code, and survives whitespace from chat apps', () => {
    const c: JoinCode = { sessionId: 's', secret: code.secret, addrs: [], relayUrl: 'ws://127.0.0.1:9', readOnly: false };
    const text = encodeJoinCode(c);
    const wrapped = ` ${text.slice(0, 20)}\n${text.slice(20)} `;
    expect(decodeJoinCode(wrapped)).toEqual(c);
  });

  it('explains garbage in words a person can act on', () => {
    const text = encodeJoinCode(code);
    const cases: Array<[string, RegExp]> = [
      ['hello', /not a Chorus join code/],
      ['chorus2.abc', /different Chorus version/],
      [text.slice(0, text.length - 10), /damaged or incomplete; copy the whole code again/],
      ['chorus1.!!!', /damaged.*characters/],
      ['chorus1.' + Buffer.from('{"s":"x","k":"AAAA","a":[]}').toString('base64url'), /secret has the wrong length/],
      ['chorus1.' + Buffer.from(JSON.stringify({ s: 'x', k: Buffer.from(code.secret).toString('base64url'), a: ['http://x'] })).toString('base64url'), /bad address list/],
      ['chorus1.' + Buffer.from(JSON.stringify({ s: 'x', k: Buffer.from(code.secret).toString('base64url'), a: [] })).toString('base64url'), /no address/],
    ];
    for (const [input, message] of cases) {
      expect(() => decodeJoinCode(input), input).toThrow(JoinCodeError);
      expect(() => decodeJoinCode(input), input).toThrow(message);
    }
  });

  it('refuses to encode a code nobody could use', () => {
    expect(() => encodeJoinCode({ ...code, secret: new Uint8Array(8) })).toThrow(/32 bytes/);
    expect(() => encodeJoinCode({ ...code, addrs: [], relayUrl: undefined })).toThrow(/at least one address/);
  });
});
