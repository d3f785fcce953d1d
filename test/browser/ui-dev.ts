/**
 * The dev page's entry: the real UI (clients/browser/src/ui/app.ts) mounted on a FakePeer holding
 * a small sample project, with the fake exposed as `window.chorusFake` for the test to drive.
 * Query: `?readonly=1` starts a read-only session; `?people=0` leaves this person alone;
 * `?state=refused` starts refused (a wrong link); `?files=N` adds N generated files.
 */
import { EditorView } from '@codemirror/view';
import { mountApp } from '../../clients/browser/src/ui/app.js';
import { FakePeer } from './fake-peer.js';

const params = new URLSearchParams(location.search);

const sample: Record<string, string> = {
  'README.md': '# Garden planner\n\nPlan beds, sow dates and harvests together.\n\n- `src/` the planner\n- `docs/` notes for contributors\n',
  'package.json': '{\n  "name": "garden-planner",\n  "version": "0.3.0",\n  "type": "module",\n  "scripts": { "test": "vitest run" }\n}\n',
  'src/beds.ts': [
    "import { daysBetween, type Season } from './dates.js';",
    '',
    '/** A raised bed: where it is and what grows in it. */',
    'export interface Bed {',
    '  id: string;',
    '  widthCm: number;',
    '  plants: Planting[];',
    '}',
    '',
    'export interface Planting {',
    '  crop: string;',
    '  sown: Date;',
    '  season: Season;',
    '}',
    '',
    '/** Days until the first harvest of each planting, soonest first. */',
    'export function harvestPlan(bed: Bed, today = new Date()): Array<[string, number]> {',
    '  const plan = bed.plants.map((p): [string, number] => [p.crop, daysBetween(today, ripeOn(p))]);',
    '  return plan.sort((a, b) => a[1] - b[1]);',
    '}',
    '',
    'function ripeOn(p: Planting): Date {',
    "  const weeks = p.season === 'spring' ? 9 : 12; // slower in autumn light",
    '  return new Date(p.sown.getTime() + weeks * 7 * 86_400_000);',
    '}',
    '',
  ].join('\n'),
  'src/dates.ts': "export type Season = 'spring' | 'autumn';\n\nexport function daysBetween(a: Date, b: Date): number {\n  return Math.round((b.getTime() - a.getTime()) / 86_400_000);\n}\n",
  'src/ui/calendar.css': '.calendar {\n  display: grid;\n  grid-template-columns: repeat(7, 1fr);\n  gap: 4px;\n}\n',
  'docs/contributing.md': '# Contributing\n\nRun `npm test` before you push.\n',
  'scripts/export.py': 'import csv\n\n\ndef export(beds, path):\n    """Write one row per planting."""\n    with open(path, "w", newline="") as f:\n        w = csv.writer(f)\n        for bed in beds:\n            for p in bed["plants"]:\n                w.writerow([bed["id"], p["crop"], p["sown"]])\n',
  'assets/logo.png': '\u0089PNG',
  'windows.txt': 'line one\r\nline two\r\n',
};

// `?files=N`: N more generated files in nested folders, for a look at a large project.
const many = Number(params.get('files') ?? 0);
for (let i = 0; i < many; i++) sample[`pkg${i % 10}/mod${Math.floor(i / 10) % 10}/file${i}.ts`] = `export const n${i} = ${i};\n`;

const alone = params.get('people') === '0';
const fake = new FakePeer({
  files: sample,
  binary: ['assets/logo.png'],
  status: {
    readOnly: params.get('readonly') === '1',
    peers: alone ? 0 : 2,
    ...(params.get('state') === 'refused' ? { state: 'refused' as const, message: 'Could not join: the session refused this link. Ask for a new link.' } : {}),
  },
  people: [
    { id: 'me', name: 'Me', color: '#4b63d8', self: true, editor: 'browser' },
    ...(alone
      ? []
      : [
          { id: 'ana', name: 'Ana Lima', color: '#e0607e', self: false, editor: 'neovim', file: 'src/beds.ts', selections: [{ anchor: 560, head: 572 }] },
          { id: 'bo', name: 'Bo', color: '#2fa67a', self: false, editor: 'vscode', file: 'src/beds.ts', selections: [{ anchor: 196, head: 196 }] },
          { id: 'chen', name: 'Chen Wei', color: '#d99a2b', self: false, editor: 'emacs', file: 'README.md', selections: [{ anchor: 20, head: 20 }] },
        ]),
  ],
});

declare global {
  interface Window {
    chorusFake: FakePeer;
    /** The text in the editor of `path` (undefined when it is not open), read from CodeMirror's state. */
    chorusEditorText: (path: string) => string | undefined;
  }
}
window.chorusFake = fake;
window.chorusEditorText = (path) => {
  const host = document.querySelector('.editor-host');
  const content = host?.shadowRoot?.querySelector(`[data-path="${CSS.escape(path)}"] .cm-content`);
  return content instanceof HTMLElement ? EditorView.findFromDOM(content)?.state.doc.toString() : undefined;
};

const root = document.getElementById('app');
if (root) mountApp(root, fake);
