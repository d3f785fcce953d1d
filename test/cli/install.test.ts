// Issue #12, "installing": the `chorus` command is linked by `npm ci` before anything is built, the
// packed package installs with `npm install -g <tarball>` and runs from anywhere, and installs
// run no unreviewed install scripts.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { daemonsFor } from '../support/cli.js';
import { REPO } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

/** The environment without what `npm test` sets for its children (npm_config_*, which would redirect npm). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ...extra };
}

const started: Array<{ bin: string; dir: string }> = [];
afterEach(() => {
  for (const { bin, dir } of started.splice(0)) spawnSync(bin, ['stop', dir], { encoding: 'utf8', env: cleanEnv() });
});

it('npm links the chorus command to a committed shim, which says how to build when dist/ is missing', () => {
  // Before #12 the link pointed at daemon/dist/cli.js, which does not exist when `npm ci` links bins.
  const link = path.join(REPO, 'node_modules', '.bin', 'chorus');
  expect(fs.realpathSync(link)).toBe(path.join(REPO, 'daemon', 'bin', 'chorus.js'));
  const version = spawnSync(link, ['--version'], { encoding: 'utf8' });
  expect(version.status).toBe(0);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  // The same shim in a copy of the package that was never built.
  const unbuilt = tempDir();
  fs.mkdirSync(path.join(unbuilt, 'daemon', 'bin'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'daemon', 'bin', 'chorus.js'), path.join(unbuilt, 'daemon', 'bin', 'chorus.js'));
  fs.writeFileSync(path.join(unbuilt, 'daemon', 'package.json'), '{"type":"module"}');
  const r = spawnSync(process.execPath, [path.join(unbuilt, 'daemon', 'bin', 'chorus.js'), 'status'], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`chorus: this copy of Chorus is not built yet (${path.join(unbuilt, 'daemon', 'dist', 'cli.js')} is missing); run \`npm ci && npm run build\` in ${unbuilt}/\n`);
});

it('installs from a packed tarball into a fresh prefix and shares, joins, reports and stops from another folder', () => {
  const work = tempDir('chorus-pack-');
  execFileSync('npm', ['pack', './daemon', '--pack-destination', work, '--json'], { cwd: REPO, encoding: 'utf8', env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const [tarball] = fs.readdirSync(work).filter((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const listing = execFileSync('tar', ['tzf', path.join(work, tarball!)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  // Only what runs: the bundle (dist/cli.js and its chunks, the protocol inside them; decision
  // 150), no sources, no tsconfig, no maps, none of tsc's per-module output.
  expect(listing).toEqual(expect.arrayContaining(['package/package.json', 'package/bin/chorus.js', 'package/dist/cli.js']));
  expect(listing.some((f) => /^package\/dist\/chunks\/daemon-\w+\.js$/.test(f))).toBe(true);
  expect(listing.filter((f) => /\/src\/|tsconfig|\.map$|\.ts$|^package\/dist\/(daemon|commands|vendor\/protocol)\.js$/.test(f))).toEqual([]);

  const prefix = path.join(work, 'prefix');
  // From npm's cache when it has everything (offline), else from the registry.
  const install = (mode: string) =>
    spawnSync('npm', ['install', '-g', '--prefix', prefix, mode, '--no-audit', '--no-fund', path.join(work, tarball!)], { cwd: work, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
  const t0 = Date.now();
  let r = install('--offline');
  if (r.status !== 0) r = install('--prefer-offline');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/install-scripts|warn/i);
  console.log(`npm install -g of the packed chorus took ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const bin = path.join(prefix, 'bin', 'chorus');
  expect(fs.existsSync(bin)).toBe(true);
  const elsewhere = tempDir(); // not the clone: nothing from its node_modules can be found
  const env = cleanEnv({ PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH}` });
  const run = (...args: string[]) => spawnSync('chorus', args, { cwd: elsewhere, encoding: 'utf8', env, timeout: 60_000 });
  const a = tempProject({ 'src/main.c': 'int main(void) { return 0; }\n' });
  const b = path.join(tempDir(), 'joined');
  started.push({ bin, dir: a }, { bin, dir: b });

  const share = run('share', a, '--json', '--host', '127.0.0.1');
  expect(share.status, share.stderr).toBe(0);
  const { code } = JSON.parse(share.stdout) as { code: string };
  const join = run('join', code, b, '--host', '127.0.0.1');
  expect(join.status, join.stderr).toBe(0);
  expect(join.stdout).toMatch(/^Joined: 1 file, 0\.0 MB in .*joined after [\d.]+ s\.\n$/);
  expect(fs.readFileSync(path.join(b, 'src', 'main.c'), 'utf8')).toBe('int main(void) { return 0; }\n');
  const status = run('status', b, '--json');
  expect(status.status).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ root: b, session: { role: 'guest' } });
  // The daemons are the installed copy's, not the clone's.
  for (const dir of [a, b]) {
    const [pid] = daemonsFor(dir);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(prefix);
  }
  for (const dir of [a, b]) {
    const stop = run('stop', dir);
    expect(stop.status).toBe(0);
    expect(stop.stderr).toMatch(/stopped the daemon/);
    expect(daemonsFor(dir)).toEqual([]);
  }
});

it('every dependency install script is reviewed, so `npm ci` is quiet', () => {
  // Before #12 every `npm ci` warned about esbuild's and leveldown's scripts; package.json's
  // allowScripts records the decision (docs/decisions/028-quiet-installs.md).
  const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: REPO, encoding: 'utf8', env: cleanEnv() });
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe('No packages with unreviewed install scripts.');
});
