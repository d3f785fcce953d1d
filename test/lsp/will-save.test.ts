/**
 * A save through `textDocument/willSaveWaitUntil` in `chorus lsp`'s DocumentSync (decision 222):
 * the daemon writes the shared text (`buffer/save`, sent after the person's edits) and the answer
 * brings the client to it. Pins the LSP side of the lagging save: the client's text lacked a
 * peer's change still on its way (an applyEdit in flight), the client wrote it, and the folder
 * took the peer's change in as undone. The daemon side is a fake port here; test/lsp/save.test.ts
 * runs the same with real daemons.
 */
import { describe, expect, it } from 'vitest';
import { opToChanges, type WireChange } from '../../daemon/src/editor/wire.js';
import { DocumentSync, type SyncPort } from '../../daemon/src/lsp/document-sync.js';
import { spliceOp } from '../../daemon/src/text/text-op.js';
import { offsetAt, positionAt } from '../support/scripted-editor.js';

interface TextEdit {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  newText: string;
}

const START = 'one\ntwo\n';

/** A document on a fake daemon and a client at version 1; every call to the port is logged in order. */
function setup() {
  const log: string[] = [];
  const sent: WireChange[][] = [];
  const applies: Array<{ version: number; edits: TextEdit[]; answer: (applied: boolean) => void }> = [];
  const saves: Array<(written: boolean) => void> = [];
  const link = { connected: true };
  const port: SyncPort = {
    edit: (_revision, changes) => {
      log.push('edit');
      sent.push(changes);
      return Promise.resolve(true);
    },
    caret: () => undefined,
    applyEdit: (version, edits) =>
      new Promise<boolean>((answer) => {
        log.push('applyEdit');
        applies.push({ version, edits, answer });
      }),
    outOfStep: (m) => {
      throw new Error(m);
    },
    save: () => {
      if (!link.connected) return undefined;
      log.push('save');
      return new Promise<boolean>((r) => saves.push(r));
    },
  };
  const client = { text: START, version: 1 };
  const doc = new DocumentSync('plan.md', 'file:///plan.md', 'utf-16', client.text, client.version, START, port);
  doc.start();
  /** The client types `text` at `offset`, as a didChange. */
  const type = (offset: number, text: string) => {
    const at = positionAt(client.text, offset, 'utf-16');
    client.text = client.text.slice(0, offset) + text + client.text.slice(offset);
    doc.clientChanged([{ range: { start: at, end: at }, text }], ++client.version);
  };
  /** The client applies `edits` (ranges in its text as it is) and echoes them as one didChange, as a strict client does. */
  const apply = (edits: TextEdit[]) => {
    const sorted = edits.map((e, i) => ({ e, i })).sort((a, b) => offsetAt(client.text, b.e.range.start, 'utf-16') - offsetAt(client.text, a.e.range.start, 'utf-16') || b.i - a.i);
    const changes = [];
    for (const { e } of sorted) {
      const a = offsetAt(client.text, e.range.start, 'utf-16');
      const b = offsetAt(client.text, e.range.end, 'utf-16');
      client.text = client.text.slice(0, a) + e.newText + client.text.slice(b);
      changes.push({ range: e.range, text: e.newText });
    }
    doc.clientChanged(changes, ++client.version);
  };
  /** Someone else inserts `text` at `offset` of the daemon's text (made after all our edits). */
  const peer = (offset: number, text: string) => {
    const before = doc.daemonText;
    doc.daemonChanged(sent.length, opToChanges(before, spliceOp({ at: offset, del: 0, ins: text }), 'utf-16'));
  };
  return { doc, client, log, applies, saves, link, type, apply, peer };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("DocumentSync: a save (willSaveWaitUntil) writes the daemon's text", () => {
  it("a save while a peer's change is in flight to the client: the person's typing goes first, then buffer/save, and the answer carries the peer's change", async () => {
    const s = setup();
    s.peer(START.length, 'three from bob\n');
    expect(s.log).toEqual(['applyEdit']); // in flight: the client lags and has not applied it
    s.type(0, 'zero from alice\n'); // held back while the edit is in flight
    const saving = s.doc.willSave(5000);
    await tick();
    // Not yet: the person's typing is not at the daemon, so the write would lack it.
    expect(s.log).toEqual(['applyEdit']);
    s.applies[0]!.answer(false); // the strict client refuses: its version moved
    await tick();
    // The typing went to the daemon first, then the save; no second applyEdit: the answer carries it.
    expect(s.log).toEqual(['applyEdit', 'edit', 'save']);
    const want = `zero from alice\n${START}three from bob\n`;
    expect(s.doc.daemonText).toBe(want);
    s.saves[0]!(true);
    const edits = await saving;
    expect(edits.length).toBeGreaterThan(0);
    s.apply(edits); // the client applies the answer and echoes it, then writes its text
    expect(s.client.text).toBe(want);
    // The echo settled the edits: not taken as the person's typing, nothing sent anywhere.
    expect(s.log).toEqual(['applyEdit', 'edit', 'save']);
    expect(s.doc.shadow).toBe(want);
    expect(s.doc.daemonText).toBe(want);
    // Settled at once (no grace period): the next change from the daemon goes out straight away.
    s.peer(want.length, 'four\n');
    expect(s.log).toEqual(['applyEdit', 'edit', 'save', 'applyEdit']);
    expect(s.applies[1]!.version).toBe(s.client.version);
  });

  it('a save with the client in step sends buffer/save after the edits typed before it and answers no edits', async () => {
    const s = setup();
    s.type(START.length, 'typed\n');
    const saving = s.doc.willSave(5000);
    expect(s.log).toEqual(['edit', 'save']);
    s.saves[0]!(true);
    expect(await saving).toEqual([]);
    expect(s.doc.shadow).toBe(`${START}typed\n`);
  });

  it('no daemon, a refusal or no answer in time answers no edits (the client writes its own text) and the change goes by applyEdit as before', async () => {
    for (const outcome of ['no daemon', 'refused', 'no answer'] as const) {
      const s = setup();
      s.peer(0, 'zero\n');
      s.type(START.length, 'typed\n');
      if (outcome === 'no daemon') s.link.connected = false;
      const saving = s.doc.willSave(outcome === 'no answer' ? 100 : 5000);
      s.applies[0]!.answer(false);
      await tick();
      if (outcome === 'refused') s.saves[0]!(false);
      expect(await saving, outcome).toEqual([]);
      // Today's behaviour after the save: the queued change is sent to the client.
      expect(s.log, outcome).toEqual(outcome === 'no daemon' ? ['applyEdit', 'edit', 'applyEdit'] : ['applyEdit', 'edit', 'save', 'applyEdit']);
      s.applies[1]!.answer(true);
      s.apply(s.applies[1]!.edits);
      expect(s.client.text, outcome).toBe(`zero\n${START}typed\n`);
      expect(s.doc.daemonText, outcome).toBe(s.client.text);
    }
  });

  it('an edit in flight that does not settle in time: no buffer/save, no edits', async () => {
    const s = setup();
    s.peer(0, 'zero\n');
    expect(await s.doc.willSave(100)).toEqual([]);
    expect(s.log).toEqual(['applyEdit']);
    // It settles later, as any edit in flight does.
    s.applies[0]!.answer(true);
    s.apply(s.applies[0]!.edits);
    expect(s.client.text).toBe(`zero\n${START}`);
  });
});
