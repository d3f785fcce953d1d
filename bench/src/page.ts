// `npm run bench:page` (about a minute): the browser page's figures (issue 17) on loopback, with
// baselines from the same run.
//
// - Bundle: each file the page loads at start (index.html, main.js, main.css, automerge.wasm) as
//   built and gzipped (what the daemon sends a browser that accepts gzip); the language chunks
//   loaded when a file of theirs opens, in total.
// - Time to first edit: a daemon shares the benchmark's 1,000-file / 20 MB project
//   (`generateProject`, the same seeded tree as bench:memory) on 127.0.0.1; Chromium (headless,
//   playwright-core) opens the link; measured from navigation to (1) the file tree showing the
//   project, (2) the first file open in the editor, (3) a typed character arriving in an editor
//   connected to the daemon. Baseline: the same browser loading the page's files from the same
//   daemon without joining (a navigation to its favicon, then fetching index.html, main.js,
//   main.css and the wasm), so the ratio is what joining costs over downloading.
// - Tab memory, after the index loaded and 10 files were opened: the renderer process's VmRSS
//   (/proc) and the V8 heap (CDP Performance.getMetrics), against a blank tab in the same browser.
//
// Options: --files N, --mb MB, --runs N (default 3; the median is reported), --out DIR (default
// bench/results; writes page-latest.json).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLI, connectWhenUp, removeRoot, sleep, stop, tempRoot } from './subjects/chorus.js';
import { generateProject } from './subjects/chorus-project.js';
import { numberOption, readOptions, stringOption } from './options.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const PAGE_DIR = join(here, '..', '..', 'daemon', 'dist', 'page');
const CHROMIUM = process.env.CHORUS_CHROMIUM ?? '/usr/bin/chromium';
const KiB = 1024;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function bundleSizes(): { files: Array<{ file: string; bytes: number; gzip: number }>; chunks: { files: number; bytes: number; gzip: number } } {
  const files = ['index.html', 'main.js', 'main.css', 'automerge.wasm'].map((file) => {
    const body = readFileSync(join(PAGE_DIR, file));
    return { file, bytes: body.length, gzip: gzipSync(body).length };
  });
  const chunkDir = join(PAGE_DIR, 'chunks');
  const chunks = { files: 0, bytes: 0, gzip: 0 };
  for (const f of readdirSync(chunkDir)) {
    const body = readFileSync(join(chunkDir, f));
    chunks.files++;
    chunks.bytes += statSync(join(chunkDir, f)).size;
    chunks.gzip += gzipSync(body).length;
  }
  return { files, chunks };
}

/** The parent pid of a process, or 0. */
function ppidOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * RSS of the renderer processes of the browser launched with `marker` in its arguments (other
 * browsers on the machine are not counted), bytes. With one tab open that is the tab's renderer.
 */
function rendererRss(marker: string): number {
  const cmdlines = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      cmdlines.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8'));
    } catch {
      // gone meanwhile
    }
  }
  const browserPid = [...cmdlines].find(([, c]) => c.includes(marker) && !c.includes('--type='))?.[0];
  if (browserPid === undefined) throw new Error('the benchmark browser process was not found');
  let total = 0;
  for (const [pid, cmd] of cmdlines) {
    if (!cmd.includes('--type=renderer')) continue;
    let up = ppidOf(pid);
    for (let hops = 0; up > 1 && up !== browserPid && hops < 10; hops++) up = ppidOf(up);
    if (up !== browserPid) continue;
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * KiB;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function heapUsed(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN;
}

async function launch(marker = 'chorus-bench-page'): Promise<Browser> {
  // Chromium ignores a switch it does not know: it only marks this browser's process for /proc.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-features=WebRtcHideLocalIpsWithMdns', `--${marker}`] });
}

async function main(): Promise<void> {
  const { values } = readOptions('usage: node bench/dist/page.js [options]', {
    files: { type: 'string', help: 'N  files in the generated project (default 1000)' },
    mb: { type: 'string', help: 'MB  their total size (default 20)' },
    runs: { type: 'string', help: 'N  page loads measured (default 3)' },
    out: { type: 'string', help: 'DIR  where the result JSON goes (default bench/results)' },
  });
  const nFiles = numberOption(values, 'files', 1000, 1);
  const mb = numberOption(values, 'mb', 20);
  const runs = numberOption(values, 'runs', 3, 1);
  const outDir = stringOption(values, 'out', join(here, '..', 'results'));

  const bundle = bundleSizes();
  const root = tempRoot('page');
  const dir = join(root, 'project');
  mkdirSync(dir, { recursive: true });
  const project = generateProject(dir, nFiles, mb * 1000 * 1000);
  const first = [...project.keys()].filter((p) => p.endsWith('.ts') || p.endsWith('.md') || p.endsWith('.txt')).sort()[0] ?? [...project.keys()].sort()[0]!;
  const shared = spawnSync(process.execPath, [CLI, 'share', dir, '--json', '--host', '127.0.0.1'], { encoding: 'utf8', timeout: 300_000 });
  if (shared.status !== 0) throw new Error(`chorus share failed: ${shared.stderr}`);
  const { url } = JSON.parse(shared.stdout) as { url: string };
  const origin = new URL(url).origin;
  const editor = await connectWhenUp(dir);
  await editor.open(first);
  const browser = await launch();
  const result: Record<string, unknown> = { when: new Date().toISOString(), project: { files: nFiles, mb }, bundle };
  try {
    const baseline: number[] = [];
    const index: number[] = [];
    const opened: number[] = [];
    const edited: number[] = [];
    for (let run = 0; run < runs; run++) {
      // Baseline: a fresh tab downloading the page's own files from the daemon.
      {
        const context = await browser.newContext();
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(`${origin}/favicon.svg`);
        await page.evaluate(async () => {
          await Promise.all(['/', '/main.js', '/main.css', '/automerge.wasm'].map(async (p) => (await fetch(p, { cache: 'no-store' })).arrayBuffer()));
        });
        baseline.push(performance.now() - t0);
        await context.close();
      }
      const context = await browser.newContext();
      await context.addInitScript({ content: `localStorage.setItem('chorus.name', 'bench ${run}');` });
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(url);
      await page.getByTestId(`file:${first}`).waitFor({ timeout: 300_000 });
      index.push(performance.now() - t0);
      await page.getByTestId(`file:${first}`).click();
      await page.locator(`[data-testid="editor:${first}"] .cm-content`).waitFor({ timeout: 120_000 });
      opened.push(performance.now() - t0);
      const mark = `#${run}#`;
      const arrived = new Promise<void>((resolve) => {
        editor.onText = (text) => {
          if (text.includes(mark)) resolve();
        };
      });
      await page.locator(`[data-testid="editor:${first}"] .cm-content`).click();
      await page.keyboard.press('Control+Home');
      await page.keyboard.type(mark);
      await arrived;
      edited.push(performance.now() - t0);
      await context.close();
      await sleep(500);
    }
    result.firstEdit = {
      runs,
      baselineDownloadMs: median(baseline),
      indexShownMs: median(index),
      firstFileOpenMs: median(opened),
      firstEditAtDaemonMs: median(edited),
      ratioFirstEditToDownload: median(edited) / median(baseline),
    };

    // Tab memory: a blank tab, then the page with the project's index and 10 files opened.
    const marker = `chorus-bench-memory-${process.pid}`;
    const mem = await launch(marker);
    try {
      const blankCtx = await mem.newContext();
      const blank = await blankCtx.newPage();
      await blank.goto('about:blank');
      await sleep(1000);
      const blankRss = rendererRss(marker);
      const blankHeap = await heapUsed(blank);
      await blankCtx.close();
      await sleep(1000);
      const ctx = await mem.newContext();
      await ctx.addInitScript({ content: `localStorage.setItem('chorus.name', 'bench memory');` });
      const page = await ctx.newPage();
      await page.goto(url);
      await page.getByTestId(`file:${first}`).waitFor({ timeout: 300_000 });
      const ten = [...project.keys()].sort().slice(0, 10);
      for (const f of ten) {
        await page.evaluate(async (p) => {
          await (globalThis as unknown as { chorusPeer: { open(p: string): Promise<unknown> } }).chorusPeer.open(p);
        }, f);
      }
      await sleep(3000);
      const rss = rendererRss(marker);
      const heap = await heapUsed(page);
      result.tabMemory = { filesOpened: ten.length, rendererRss: rss, blankRendererRss: blankRss, ratioToBlank: rss / blankRss, heapUsed: heap, blankHeapUsed: blankHeap };
      await ctx.close();
    } finally {
      await mem.close();
    }
  } finally {
    await browser.close();
    editor.close();
    await stop(dir);
    removeRoot(root);
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'page-latest.json'), JSON.stringify(result, null, 2) + '\n');
  const f = (n: number): string => (n / KiB).toFixed(0) + ' KiB';
  console.log('bundle (at start):');
  for (const b of bundle.files) console.log(`  ${b.file.padEnd(16)} ${f(b.bytes).padStart(9)}  gzip ${f(b.gzip).padStart(8)}`);
  console.log(`  total            ${f(bundle.files.reduce((n, b) => n + b.bytes, 0)).padStart(9)}  gzip ${f(bundle.files.reduce((n, b) => n + b.gzip, 0)).padStart(8)}`);
  console.log(`  language chunks (on demand): ${bundle.chunks.files} files, ${f(bundle.chunks.bytes)}, gzip ${f(bundle.chunks.gzip)}`);
  console.log(JSON.stringify({ firstEdit: result.firstEdit, tabMemory: result.tabMemory }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
