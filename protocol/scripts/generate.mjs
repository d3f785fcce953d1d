// Writes the generated views of protocol/: the JSON model, and the Lua and Elisp method tables
// the Neovim and Emacs clients load (with the words that name a session). `--check` fails (exit 1) when a committed file is stale.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeProtocol } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const model = describeProtocol();
const header = 'Generated from protocol/src by protocol/scripts/generate.mjs; do not edit.';

const luaName = (m) => m.replace(/[/]/g, '_');
const lua = [
  `-- ${header}`,
  'return {',
  `  protocol_version = ${model.protocolVersion},`,
  '  methods = {',
  ...model.methods.map((m) => `    ${luaName(m.method)} = ${JSON.stringify(m.method)},`),
  '  },',
  '  errors = {',
  ...Object.entries(model.errors).map(([k, v]) => `    ${k} = ${v},`),
  '  },',
  '  exit_codes = {',
  ...Object.entries(model.exitCodes).map(([k, v]) => `    ${k} = ${v},`),
  '  },',
  '  session_words = {',
  ...Object.entries(model.sessionWords).map(([k, v]) => `    ${k} = ${JSON.stringify(v)},`),
  '  },',
  '}',
  '',
].join('\n');

const elName = (m) => m.replace(/[/]/g, '-').replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
const el = [
  `;;; chorus-protocol.el --- Chorus protocol tables  -*- lexical-binding: t; -*-`,
  `;; ${header}`,
  ';;; Code:',
  `(defconst chorus-protocol-version ${model.protocolVersion} "Chorus editor protocol version.")`,
  '(defconst chorus-protocol-methods',
  "  '(" + model.methods.map((m) => `(${elName(m.method)} . ${JSON.stringify(m.method)})`).join('\n    ') + ')',
  '  "Alist of Chorus protocol methods.")',
  '(defconst chorus-protocol-errors',
  "  '(" + Object.entries(model.errors).map(([k, v]) => `(${elName(k)} . ${v})`).join('\n    ') + ')',
  '  "Alist of Chorus protocol error codes.")',
  '(defconst chorus-protocol-exit-codes',
  "  '(" + Object.entries(model.exitCodes).map(([k, v]) => `(${elName(k)} . ${v})`).join('\n    ') + ')',
  '  "Alist of the exit codes of the chorus command (`chorus connect\' among them).")',
  '(defconst chorus-protocol-session-words',
  "  '(" + Object.entries(model.sessionWords).map(([k, v]) => `(${elName(k)} . ${JSON.stringify(v)})`).join('\n    ') + ')',
  '  "Alist of how a session is named to a person (protocol/src/session-words.ts).")',
  "(provide 'chorus-protocol)",
  ';;; chorus-protocol.el ends here',
  '',
].join('\n');

function schemaSummary(schema) {
  if (!schema || schema.type !== 'object' || !schema.properties) return schema?.type === 'null' ? 'null' : '—';
  const req = new Set(schema.required ?? []);
  return Object.keys(schema.properties).map((k) => (req.has(k) ? `\`${k}\`` : `\`${k}?\``)).join(', ');
}
const md = [
  '# Chorus protocol methods',
  '',
  `<!-- ${header} -->`,
  '',
  `Protocol version ${model.protocolVersion}. Full schemas: [protocol.json](protocol.json). Rules and examples: [README.md](README.md).`,
  '',
  '| method | kind | direction | params | result | what it does |',
  '| --- | --- | --- | --- | --- | --- |',
  ...model.methods.map((m) => {
    const params = schemaSummary(m.params.anyOf ? m.params.anyOf.find((x) => x.type === 'object') : m.params);
    const result = m.kind === 'request' ? schemaSummary(m.result) : '';
    const dir = m.direction === 'editorToDaemon' ? 'editor → daemon' : 'daemon → editor';
    return `| \`${m.method}\` | ${m.kind} | ${dir} | ${params} | ${result} | ${m.doc.replace(/\|/g, '\\|')} |`;
  }),
  '',
  '## Error codes',
  '',
  '| name | code |',
  '| --- | --- |',
  ...Object.entries(model.errors).map(([k, v]) => `| ${k} | ${v} |`),
  '',
  '## Exit codes of `chorus connect` (and the other commands)',
  '',
  '| name | code |',
  '| --- | --- |',
  ...Object.entries(model.exitCodes).map(([k, v]) => `| ${k} | ${v} |`),
  '',
].join('\n');

const outputs = {
  'protocol/methods.md': md,
  'protocol/protocol.json': JSON.stringify(model, null, 2) + '\n',
  'clients/neovim/lua/chorus/protocol.lua': lua,
  'clients/emacs/chorus-protocol.el': el,
};

const check = process.argv.includes('--check');
let stale = [];
for (const [rel, text] of Object.entries(outputs)) {
  const file = path.join(root, rel);
  if (check) {
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) stale.push(rel);
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}
if (stale.length) {
  console.error(`stale generated files: ${stale.join(', ')}; run \`npm run generate -w @chorus/protocol\``);
  process.exit(1);
}
