// The editor socket's framing on a real daemon, as protocol/README.md "Framing errors" states it:
// a header that is not exact LSP base framing is answered at once (id null, InvalidRequest, a
// message naming what was wrong) and the connection closed; the daemon keeps serving others.
// Pins h78's bug: a header ended by a bare "\n\n" got no answer until the client's next message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { MaliciousEditor } from '../support/malicious-editor.js';

let daemon: Daemon;
const editors: MaliciousEditor[] = [];

beforeAll(async () => {
  daemon = await startDaemon(tempProject({ 'a.txt': 'hello\n' }));
});

afterAll(async () => {
  for (const e of editors.splice(0)) e.close();
  await daemon.stop();
});

async function connect(): Promise<MaliciousEditor> {
  const e = await MaliciousEditor.connect(daemon.project.socketPath);
  editors.push(e);
  return e;
}

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 'init', method: P.Initialize.method, params: { protocolVersion: P.PROTOCOL_VERSION } });
const bytes = (s: string) => Buffer.byteLength(s);

describe('a header that is not exact LSP framing is answered at once and the connection closed', () => {
  // Nothing else is sent after the bad frame: the answer must not wait for a next message.
  const cases: Array<[string, string, RegExp]> = [
    ['header ended by \\n\\n', `Content-Length: ${bytes(initialize)}\n\n${initialize}`, /\\n alone.*\\r\\n\\r\\n/],
    ['header ended by \\n\\r\\n', `Content-Length: ${bytes(initialize)}\n\r\n${initialize}`, /\\n alone/],
    ['no empty line before the body', `Content-Length: ${bytes(initialize)}\r\n${initialize}`, /not `Name: value` lines/],
    ['a bare \\r', `Content-Length: ${bytes(initialize)}\r\r${initialize}`, /\\r not followed by \\n/],
    ['two Content-Length headers', `Content-Length: 2\r\nContent-Length: ${bytes(initialize)}\r\n\r\n${initialize}`, /more than one Content-Length/],
  ];
  for (const [what, sent, why] of cases) {
    it(what, async () => {
      const e = await connect();
      e.raw(sent);
      const answer = await e.waitFor((a) => a.id === null && !!a.error, 'the framing error', 5000);
      expect(answer.error!.code).toBe(P.ErrorCodes.InvalidRequest);
      expect(answer.error!.message).toMatch(why);
      expect(answer.error!.message).toMatch(/the connection is closed/);
      await e.closed;
      expect(e.answers).toHaveLength(1);
    });
  }
});

it('exact framing cut at any byte is served, and the daemon serves after the refusals', async () => {
  const e = await connect();
  const frame = `Content-Length: ${bytes(initialize)}\r\n\r\n${initialize}`;
  for (const ch of frame) e.raw(ch);
  const answer = await e.waitFor((a) => a.id === 'init', 'the initialize answer');
  expect(answer.error).toBeUndefined();
  const open = await e.request(P.BufferOpen.method, { path: 'a.txt' });
  expect(open.result).toMatchObject({ path: 'a.txt', content: 'hello\n' });
});

// A notification cannot be answered: one with invalid params used to vanish with a log line the
// plugin's author never sees. Now the log names it and the editor is told once per method.
it('a notification with invalid params is logged and told to its editor once per method, never answered', async () => {
  const e = await connect();
  await e.init();
  const other = await connect();
  await other.init();
  await e.request(P.BufferOpen.method, { path: 'a.txt' });
  const caret = { anchor: { line: 0, character: 0 }, head: { line: 0, character: 0 } };
  const cursor = (selections: unknown) => e.frame(JSON.stringify({ jsonrpc: '2.0', method: P.CursorSet.method, params: { path: 'a.txt', selections } }));
  cursor(Array.from({ length: 1001 }, () => caret));
  const notice = await e.waitFor((a) => a.method === P.SessionNotice.method, 'the notice');
  expect(notice.params).toMatchObject({ type: 'warning' });
  expect((notice.params as { message: string }).message).toMatch(/^invalid params for cursor\/set: selections: .*1000.*Chorus ignored that notification/);
  cursor('not a list');
  e.frame(JSON.stringify({ jsonrpc: '2.0', method: P.ViewportSet.method, params: { path: 'a.txt' } }));
  await e.waitFor((a) => a.method === P.SessionNotice.method && /viewport\/set/.test((a.params as { message: string }).message), 'the viewport notice');
  // In step after all that: a request is answered, and each method was told once.
  expect((await e.request(P.WorkspaceFiles.method)).error).toBeUndefined();
  expect(e.answers.filter((a) => a.method === P.SessionNotice.method)).toHaveLength(2);
  expect(e.answers.filter((a) => a.id === null)).toEqual([]);
  expect(other.answers.filter((a) => a.method === P.SessionNotice.method)).toEqual([]);
  const logged = logsOf(daemon).filter((l) => /invalid params for (cursor|viewport)\/set/.test(l));
  expect(logged).toHaveLength(3);
  expect(logged[0]).toMatch(/editor \S+ \(mallory\): invalid params for cursor\/set: selections/);
});

describe('an editor that leaves without a goodbye', () => {
  // `:qa!` with requests unanswered resets the connection: the log said "editor socket error:
  // read ECONNRESET", which a trial read as a fault.
  it('is logged as an editor leaving, not as an error, and the daemon keeps serving', async () => {
    const net = await import('node:net');
    const socket = net.connect(daemon.project.socketPath);
    socket.pause(); // its answer stays unread: closed so, a Unix socket resets the daemon's end
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`Content-Length: ${bytes(initialize)}\r\n\r\n${initialize}`);
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    const said = () => logsOf(daemon).filter((l) => /ended without a goodbye \(ECONNRESET\)/.test(l) || /editor socket error/.test(l));
    for (const end = Date.now() + 10_000; said().length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    expect(said()).toEqual(["an editor's connection ended without a goodbye (ECONNRESET): the editor exited or was stopped"]);
    await (await connect()).init();
  });
});
