import fs from 'node:fs';

/** Set by the bundle (scripts/bundle.mjs), whose chunks sit one folder deeper than version.js. */
declare const __CHORUS_VERSION__: string | undefined;

/** The daemon's version, from its package.json (one directory above src/ and dist/). */
export const VERSION: string =
  typeof __CHORUS_VERSION__ === 'string' ? __CHORUS_VERSION__ : (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
