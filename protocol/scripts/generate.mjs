// Writes the generated views of protocol/: the JSON model, and the Lua and Elisp method tables
// the Neovim and Emacs clients load (with the words that name a session). `--check` fails (exit 1) when a committed file is stale.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protocol from '../dist/index.js';

const { describeProtocol } = protocol;

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

// ---- methods.md: every method with its params and result as TypeScript-like types ----------

/** A schema without what does not change its shape for a reader (`$schema`, closedness). */
function bare(schema) {
  if (Array.isArray(schema)) return schema.map(bare);
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).filter(([k, v]) => k !== '$schema' && !(k === 'additionalProperties' && v === false)).map(([k, v]) => [k, bare(v)]),
  );
}
const named = Object.entries(model.types).map(([name, schema]) => [name, JSON.stringify(bare(schema))]);
const nameOf = (schema) => named.find(([, text]) => text === JSON.stringify(bare(schema)))?.[0];

const SAFE = 9007199254740991;
/** What a schema allows beyond its type, in words, for a comment ('' when nothing). */
function constraints(s) {
  const c = [];
  const n = (v) => v.toLocaleString('en-US');
  if (s.minLength !== undefined && s.maxLength !== undefined) c.push(`${n(s.minLength)} to ${n(s.maxLength)} characters`);
  else if (s.maxLength !== undefined) c.push(`at most ${n(s.maxLength)} characters`);
  else if (s.minLength !== undefined) c.push(s.minLength === 1 ? 'not empty' : `at least ${s.minLength} characters`);
  if (s.maxItems !== undefined) c.push(`at most ${n(s.maxItems)} items`);
  if (s.pattern !== undefined) c.push(`matches \`${s.pattern}\``);
  if (s.type === 'integer' || s.type === 'number') {
    const min = s.minimum !== undefined && s.minimum !== -SAFE && !(s.minimum === 0 && s.maximum === SAFE) ? s.minimum : undefined;
    const max = s.maximum !== undefined && s.maximum !== SAFE ? s.maximum : undefined;
    if (min !== undefined && max !== undefined) c.push(`${min} to ${max}`);
    else if (min !== undefined) c.push(`at least ${min}`);
    else if (max !== undefined) c.push(`at most ${max}`);
  }
  return c.join('; ');
}

/**
 * The doc comments of the fields in each method's params and result, read from methods.ts (their
 * one home: JSON Schema has no place for them): method → { params, result } → field name → doc.
 * A field is found by name anywhere in that argument, its first doc comment wins.
 */
function fieldDocs() {
  const src = fs.readFileSync(path.join(root, 'protocol/src/methods.ts'), 'utf8');
  /** The top-level arguments of the call whose `(` is just before `at`, as source text. */
  const args = (at) => {
    const out = [];
    let depth = 0;
    let start = at;
    for (let i = at; i < src.length; i++) {
      const c = src[i];
      if (c === "'" || c === '"' || c === '`') {
        for (i++; src[i] !== c; i++) if (src[i] === '\\') i++;
      } else if (src.startsWith('/*', i)) i = src.indexOf('*/', i) + 1;
      else if (src.startsWith('//', i)) i = src.indexOf('\n', i);
      else if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c) && depth-- === 0) return [...out, src.slice(start, i)];
      else if (c === ',' && depth === 0) {
        out.push(src.slice(start, i));
        start = i + 1;
      }
    }
    return out;
  };
  const docsIn = (text = '') =>
    new Map(
      [...text.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\s*:/g)]
        .reverse()
        .map(([, doc, key]) => [key, doc.replace(/\s*\n\s*\*\s*/g, ' ').replace(/\\'/g, "'").trim()]),
    );
  const docs = new Map();
  for (const m of src.matchAll(/\b(request|notification)\(/g)) {
    const [name, , , params, result] = args(m.index + m[0].length);
    if (!/^\s*'/.test(name ?? '')) continue;
    docs.set(name.trim().slice(1, -1), { params: docsIn(params), result: docsIn(result) });
  }
  return docs;
}
const docsOf = fieldDocs();

/** The doc comments of the shared types (types.ts), by type name, and of their fields. */
const typesSource = fs.readFileSync(path.join(root, 'protocol/src/types.ts'), 'utf8');
const cleanDoc = (doc) => doc.replace(/\s*\n\s*\*\s*/g, ' ').trim();
const typeDocs = new Map([...typesSource.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const (\w+)/g)].map(([, doc, name]) => [name, cleanDoc(doc)]));
const typeFieldDocs = new Map([...typesSource.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+):/g)].reverse().map(([, doc, key]) => [key, cleanDoc(doc)]));

/** `text` as `//` comment lines of at most 100 columns, indented by `pad`. */
function commentLines(text, pad) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && pad.length + 3 + line.length + 1 + word.length > 100) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${pad}// ${l}`);
}

/**
 * `schema` as a TypeScript-like type; objects span lines, indented by `pad`. `spell`: not by its
 * name. `docs`: field name → doc comment, written above each field that has one.
 */
function typeOf(schema, pad = '', spell = false, docs = new Map()) {
  const name = spell ? undefined : nameOf(schema);
  if (name) return name;
  if (schema.$ref) return 'JSON';
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(s, pad, false, docs)).join(' | ');
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  switch (schema.type) {
    case 'string':
    case 'boolean':
    case 'null':
      return schema.type;
    case 'integer':
      return schema.minimum === 0 && schema.maximum === SAFE ? 'uint' : 'integer';
    case 'number':
      return 'number';
    case 'array': {
      const item = typeOf(schema.items, pad, false, docs);
      return /[ |]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
    }
    case 'object': {
      if (!schema.properties) return `{ [key: string]: ${typeOf(schema.additionalProperties ?? {}, pad)} }`;
      const req = new Set(schema.required ?? []);
      const inner = pad + '  ';
      const lines = Object.entries(schema.properties).map(([k, v]) => {
        const c = constraints(v.type === 'array' ? { ...v, ...Object.fromEntries(Object.entries(v.items ?? {}).filter(([key]) => key === 'pattern')) } : v);
        const doc = docs.get(k);
        return [...(doc ? commentLines(doc, inner) : []), `${inner}${k}${req.has(k) ? '' : '?'}: ${typeOf(v, inner, false, docs)};${c ? ` // ${c}` : ''}`].join('\n');
      });
      return lines.length ? `{\n${lines.join('\n')}\n${pad}}` : '{}';
    }
    default:
      return 'JSON';
  }
}

/** A method's params: absent params are allowed where the schema admits null. */
function paramsType(m) {
  const p = m.params;
  const docs = docsOf.get(m.method)?.params;
  if (p.anyOf?.some((s) => s.type === 'null')) {
    const obj = p.anyOf.find((s) => s.type === 'object');
    return Object.keys(obj.properties ?? {}).length ? `${typeOf(obj, '', false, docs)} | null  // or no params` : 'none';
  }
  return typeOf(p, '', false, docs);
}

const dir = (m) => (m.direction === 'editorToDaemon' ? 'editor → daemon' : 'daemon → editor');
const cell = (text) => text.replace(/\|/g, '\\|');

/** The doc comment before each error code in errors.ts (its one home), by name. */
const errorDocs = Object.fromEntries(
  [...fs.readFileSync(path.join(root, 'protocol/src/errors.ts'), 'utf8').matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+):\s*-?\d+/g)].map(([, doc, name]) => [
    name,
    doc.replace(/\s*\n\s*\*\s*/g, ' ').trim(),
  ]),
);

/** Every max-type constraint an editor's params meet, as limit rows: read from the schemas. */
function schemaLimits() {
  const rows = [];
  const walk = (m, schema, at) => {
    if (!schema || typeof schema !== 'object') return;
    if (schema.anyOf) return schema.anyOf.forEach((s) => walk(m, s, at));
    if (nameOf(schema)) return;
    const bounded = schema.maxItems !== undefined || schema.maxLength !== undefined || schema.pattern !== undefined;
    if (bounded && at) rows.push([`\`${m.method}\` \`${at}\``, constraints(schema)]);
    for (const [k, v] of Object.entries(schema.properties ?? {})) walk(m, v, at ? `${at}.${k}` : k);
    if (schema.items) walk(m, schema.items, `${at}[]`);
  };
  for (const m of model.methods) if (m.direction === 'editorToDaemon') walk(m, m.params, '');
  return rows;
}
const fromEditor = (method) => model.methods.find((m) => m.method === method);
const pastSchema = (where) => {
  const m = fromEditor(where.match(/`([^`]+)`/)[1]);
  return m.kind === 'request'
    ? ['answered; nothing changed', 'InvalidParams']
    : ['not answered (a notification); dropped, the daemon log names the method and the field, and the editor gets one `session/notice`', '—'];
};

const md = [
  '# Chorus protocol methods',
  '',
  `<!-- ${header} -->`,
  '',
  `Protocol version ${model.protocolVersion}. Full schemas: [protocol.json](protocol.json). Rules, framing and examples: [README.md](README.md).`,
  'A request is answered (its `result`, or an error); a notification never is. `?` marks an optional field; `uint` is an integer ≥ 0; `JSON` any JSON value.',
  '',
  '| method | kind | sent by | params | result |',
  '| --- | --- | --- | --- | --- |',
  ...model.methods.map((m) => {
    const fields = (s) => (s?.type === 'object' && s.properties ? Object.keys(s.properties).map((k) => (new Set(s.required ?? []).has(k) ? `\`${k}\`` : `\`${k}?\``)).join(', ') : s?.type === 'null' ? 'null' : '');
    const params = fields(m.params.anyOf ? m.params.anyOf.find((x) => x.type === 'object') : m.params) || 'none';
    return `| [\`${m.method}\`](#${m.method.replace(/[^a-z0-9]/gi, '').toLowerCase()}) | ${m.kind} | ${dir(m)} | ${params} | ${m.kind === 'request' ? fields(m.result) : '—'} |`;
  }),
  '',
  '## Types',
  '',
  '```ts',
  ...Object.keys(model.types).flatMap((name) => [...commentLines(typeDocs.get(name) ?? '', ''), `type ${name} = ${typeOf(model.types[name], '', true, typeFieldDocs)};`]),
  '```',
  '',
  '## Methods',
  '',
  ...model.methods.flatMap((m) => [
    `### \`${m.method}\``,
    '',
    `${m.kind}, ${dir(m)}${m.kind === 'notification' ? ', not answered' : ''}. ${m.doc}`,
    '',
    '```ts',
    `params: ${paramsType(m)}`,
    ...(m.kind === 'request' ? [`result: ${typeOf(m.result, '', false, docsOf.get(m.method)?.result)}`] : []),
    '```',
    '',
  ]),
  '## Limits',
  '',
  'Every limit an editor meets. `characters` are UTF-16 code units (as JavaScript counts), whatever the position encoding.',
  '',
  '| what | limit | past it | error |',
  '| --- | --- | --- | --- |',
  ...Object.values(model.limits).map((l) => `| ${cell(l.bounds)} | ${l.value.toLocaleString('en-US')} ${l.unit} | ${cell(l.past)} | ${l.error ? `${l.error} (${model.errors[l.error]})` : '—'} |`),
  ...schemaLimits().map(([where, limit]) => {
    const [past, error] = pastSchema(where);
    return `| ${where} | ${cell(limit)} | ${past} | ${error === '—' ? '—' : `${error} (${model.errors[error]})`} |`;
  }),
  '',
  '## Error codes',
  '',
  '| name | code | when |',
  '| --- | --- | --- |',
  ...Object.entries(model.errors).map(([k, v]) => `| ${k} | ${v} | ${cell(errorDocs[k] ?? '')} |`),
  '',
  '## Exit codes of `chorus connect` (and the other commands)',
  '',
  '| name | code |',
  '| --- | --- |',
  ...Object.entries(model.exitCodes).map(([k, v]) => `| ${k} | ${v} |`),
  '',
].join('\n');

// ---- method-handles.ts: each method without its schemas, for `@chorus/protocol/handles` --------

/** The export name of each method's declaration in methods.ts, in declaration order. */
const exportNames = protocol.allMethods.map((def) => {
  const found = Object.entries(protocol).find(([, v]) => v === def);
  if (!found) throw new Error(`${def.method} is in allMethods but not exported by name from protocol/src`);
  return found[0];
});
const handles = [
  `// ${header}`,
  '// Each method of methods.ts as a handle without its schemas (handle.ts); see handles.ts.',
  "import { handle } from './handle.js';",
  "import type * as M from './methods.js';",
  '',
  ...exportNames.map((name, i) => {
    const m = protocol.allMethods[i];
    return `export const ${name} = handle<typeof M.${name}>(${JSON.stringify(m.kind).replace(/"/g, "'")}, ${JSON.stringify(m.method).replace(/"/g, "'")}, ${JSON.stringify(m.direction).replace(/"/g, "'")});`;
  }),
  '',
].join('\n');

const outputs = {
  'protocol/src/method-handles.ts': handles,
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
