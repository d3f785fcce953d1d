// Bundles the extension into one CommonJS file (VS Code loads extensions with require): the
// protocol package, vscode-jsonrpc and the daemon's pure text helpers go in; `vscode` stays out.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/extension.cjs',
  external: ['vscode'],
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
