import fs from 'node:fs';

/** The daemon's version, from its package.json (one directory above src/ and dist/). */
export const VERSION: string = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
