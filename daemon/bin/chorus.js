#!/usr/bin/env node
// The `chorus` command. This small file is committed so that npm can link the command when it
// installs, before anything is built (see docs/decisions/027-cli-package.md); the CLI itself is
// the built dist/cli.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  const dir = fileURLToPath(new URL('../..', import.meta.url));
  process.stderr.write(`chorus: this copy of Chorus is not built yet (${fileURLToPath(cli)} is missing); run \`npm ci && npm run build\` in ${dir}\n`);
  process.exit(1);
}
await import(cli.href);
