/** Shared steps of the multi-daemon tests: connect editors, type at random, wait for convergence. */
import fs from 'node:fs';
import path from 'node:path';
import type { Daemon } from '../../daemon/src/daemon.js';
import { seeded, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

/** One editor per daemon with `file` open; `maxDelayMs` holds incoming changes back at random. */
export async function editorsOn(daemons: Daemon[], file: string, maxDelayMs = 5): Promise<ScriptedEditor[]> {
  const out: ScriptedEditor[] = [];
  for (const d of daemons) {
    const e = await ScriptedEditor.socket(d.project.socketPath, { maxDelayMs, random: seeded(out.length + 11) });
    await e.init();
    await waitForFile(path.join(d.project.root, file), () => true, `${file} on ${d.identity.name}`);
    await e.open(file);
    out.push(e);
  }
  return out;
}

const WORDS = ['a', 'bc', 'déf', ' ', '\n', 'ghij', '中'];

/** Each editor types `rounds` random edits (inserts and deletes), interleaved; resolves when all are acknowledged. */
export async function typeRandomly(editors: ScriptedEditor[], file: string, rounds: number, seed: number, pause?: () => Promise<void>): Promise<void> {
  const rand = seeded(seed);
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < rounds; i++) {
    const e = editors[Math.floor(rand() * editors.length)]!;
    const text = e.text(file);
    const at = Math.floor(rand() * (text.length + 1));
    const del = rand() < 0.25 ? Math.min(3, text.length - at) : 0;
    inFlight.push(e.edit(file, at, at + del, rand() < 0.9 ? WORDS[Math.floor(rand() * WORDS.length)]! : ''));
    if (i % 10 === 0) await (pause ? pause() : new Promise((r) => setTimeout(r, 2)));
  }
  await Promise.all(inFlight);
}

/** Every editor, every daemon's CRDT and every file end identical; returns the text. */
export async function converged(daemons: Daemon[], editors: ScriptedEditor[], file: string, ms = 60000): Promise<string> {
  const textOf = (d: Daemon) => {
    const id = d.workspace.index.idOf(file);
    return id && d.workspace.isLive(id) ? d.workspace.text(id) : undefined;
  };
  const end = Date.now() + ms;
  for (;;) {
    const texts = daemons.map(textOf);
    const first = texts[0];
    if (first !== undefined && texts.every((t) => t === first) && editors.every((e) => e.text(file) === first)) {
      for (const d of daemons) await waitForFile(path.join(d.project.root, file), (t) => t === first, `${file} on disk of ${d.identity.name}`);
      return first;
    }
    if (Date.now() > end) {
      throw new Error(`no convergence in ${ms} ms: daemons ${JSON.stringify(texts.map((t) => t?.length))}, editors ${JSON.stringify(editors.map((e) => e.text(file).length))}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function readFile(d: Daemon, file: string): string {
  return fs.readFileSync(path.join(d.project.root, file), 'utf8');
}

/** Close the editors and stop the daemons a test started; returns empty lists to start over. */
export async function stopAll(daemons: Daemon[], editors: ScriptedEditor[]): Promise<[Daemon[], ScriptedEditor[]]> {
  for (const e of editors) e.close();
  await Promise.all(daemons.map((d) => d.stop()));
  return [[], []];
}

/** Poll `pred` every 20 ms until it holds; after `ms`, fail naming `what` (a function is asked then, for a message with the latest state). */
export async function until(pred: () => boolean, what: string | (() => string), ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
