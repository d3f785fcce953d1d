// Pins what the commands the suite and the editors run most load (decision 203): `chorus status`,
// `stop`, `connect` and `lsp` loaded zod and every protocol schema (~0.1 s of CPU each, and a
// test run starts hundreds), though the daemon is the one that validates; and every daemon start
// loaded libsodium, which only a session's links use. Each process here records the files Node
// loads (a module hook) and the test looks into the daemon's bundle for zod's and libsodium's code.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { chorus, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Code only zod's own bundle has, and code only libsodium's has. */
const ZOD = '"$ZodType"';
const LIBSODIUM = '_sodium_init';

/** An environment whose Node processes append each file they load to `log` (one URL a line). */
function recordingLoads(log: string): NodeJS.ProcessEnv {
  const dir = tempDir();
  fs.writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import fs from 'node:fs';\nexport async function load(url, context, next) {\n  if (url.startsWith('file:')) fs.appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, context);\n}\n`,
  );
  fs.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`);
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(path.join(dir, 'register.mjs')).href}` };
}

/** Which of the markers the files named in `log` hold. */
function loaded(log: string): { zod: boolean; libsodium: boolean; files: number } {
  const files = fs.existsSync(log) ? [...new Set(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean))] : [];
  const texts = files.map((url) => fs.readFileSync(new URL(url), 'utf8'));
  return { zod: texts.some((t) => t.includes(ZOD)), libsodium: texts.some((t) => t.includes(LIBSODIUM)), files: files.length };
}

it('status, stop, connect and lsp load neither zod nor libsodium; a daemon loads libsodium only when a session starts', async () => {
  const logs = tempDir();
  const d = tempProject({ 'a.txt': 'a\n' });
  used.push(d);
  // The markers are in the bundle, or this test would pass for nothing.
  const bundle = fs.readdirSync(path.join(path.dirname(CLI), 'chunks')).filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(path.dirname(CLI), 'chunks', f), 'utf8'));
  expect(bundle.some((t) => t.includes(ZOD)) && bundle.some((t) => t.includes(LIBSODIUM))).toBe(true);

  const daemonLog = path.join(logs, 'daemon');
  const daemon = spawn(process.execPath, [CLI, 'daemon', d], { stdio: ['ignore', 'ignore', 'pipe'], env: recordingLoads(daemonLog) });
  children.push(daemon);
  let stderr = '';
  daemon.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  await waitUntil('the daemon taking the folder in', () => stderr.includes('took in 1 file'));
  // It validates what editors send: the protocol's schemas, so zod; no session, so no libsodium.
  expect(loaded(daemonLog)).toMatchObject({ zod: true, libsodium: false });

  for (const [name, args, input] of [
    ['status', ['status', d], undefined],
    ['connect', ['connect', d], ''],
    ['lsp', ['lsp'], ''],
  ] as const) {
    const log = path.join(logs, name);
    const r = chorus([...args], { env: recordingLoads(log), input, cwd: logs });
    expect(r.status, `${name}: ${r.stderr}`).toBe(0);
    expect(loaded(log), name).toMatchObject({ zod: false, libsodium: false });
  }

  // A share starts a session: the links' cipher is loaded then.
  const share = chorus(['share', d, '--json', '--host', '127.0.0.1']);
  expect(share.status, share.stderr).toBe(0);
  expect(loaded(daemonLog)).toMatchObject({ zod: true, libsodium: true });

  const stopLog = path.join(logs, 'stop');
  const stop = chorus(['stop', d], { env: recordingLoads(stopLog) });
  expect(stop.status, stop.stderr).toBe(0);
  expect(loaded(stopLog)).toMatchObject({ zod: false, libsodium: false });
});
