// Part of `npm run build -w chorus`: copies the editor protocol's built JavaScript into
// dist/vendor/protocol.js as one ES module and points dist's imports of `@chorus/protocol` at it,
// so the packed `chorus` package runs without a `@chorus/protocol` package (which is private and
// never published). Why bundling and not bundleDependencies or publishing both:
// docs/decisions/027-cli-package.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const vendored = path.join(dist, 'vendor', 'protocol.js');

await build({
  entryPoints: [fileURLToPath(import.meta.resolve('@chorus/protocol'))],
  outfile: vendored,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The protocol's own dependencies stay npm dependencies of the chorus package.
  external: ['zod', 'zod/*', 'vscode-jsonrpc', 'vscode-jsonrpc/*'],
  logLevel: 'warning',
});

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])@chorus\/protocol\2/g;
let rewritten = 0;
for (const entry of fs.readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
  const file = path.join(entry.parentPath ?? entry.path, entry.name);
  if (file === vendored) continue;
  const text = fs.readFileSync(file, 'utf8');
  let rel = path.relative(path.dirname(file), vendored).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const out = text.replace(SPECIFIER, (_m, lead, q) => `${lead}${q}${rel}${q}`);
  if (out !== text) {
    fs.writeFileSync(file, out);
    rewritten++;
  }
}
if (rewritten === 0) throw new Error(`no import of @chorus/protocol found under ${dist}: is the daemon built?`);
