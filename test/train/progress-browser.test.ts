// The live training-progress page in a real browser (Debian's Chromium through playwright-core):
// while training runs, the page polls the trainer's HTTP server and draws the curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import * as dl from '../../src/index.js';
import { syntheticData, tinyCnn } from './synthetic.js';

const CHROMIUM = '/usr/bin/chromium';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

test('the live training-progress page draws the curves in Chromium while training runs', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test's setup installs Debian's chromium`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-browser-'));
  const port = await freePort();
  const data = syntheticData(256, 1);
  const network = tinyCnn();
  let stop = false;
  let iterations = 0;
  // Trains until the browser has seen enough; the trainer yields to the event loop every
  // iteration, so the HTTP server and this test's browser calls run in between.
  const training = dl.trainNetwork(data, network, {
    maxEpochs: 10_000, miniBatchSize: 16, initialLearnRate: 0.05, seed: 1, verbose: false,
    plots: 'training-progress', plotsPort: port, reportPath: dir,
    onIteration: () => { iterations++; return !stop; },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    for (let attempt = 0; ; attempt++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/`);
        break;
      } catch (err) {
        if (attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The page's title follows the trainer's status; the chart holds the training points.
    // (Page-side code as strings: this project compiles without the DOM's types.)
    await page.waitForFunction('/iteration \\d+/.test(document.title)', undefined, { timeout: 30_000 });
    const drawn = await page.waitForFunction(`(() => {
      const chart = echarts.getInstanceByDom(document.getElementById('chart'));
      const loss = chart && chart.getOption().series.find((s) => s.name === 'training loss (raw)');
      return loss && loss.data.length >= 3 ? loss.data.length : false;
    })()`, undefined, { timeout: 30_000 });
    const points = (await drawn.jsonValue()) as number;
    assert.ok(points >= 3 && points <= iterations, `the page drew ${points} loss points after ${iterations} iterations`);
    assert.ok(await page.locator('#chart canvas, #chart svg').count() > 0, 'the chart rendered into the page');
    const shot = path.join(dir, 'live-page.png');
    await page.screenshot({ path: shot });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot of a drawn chart');
  } finally {
    stop = true;
    await browser.close();
    const { history } = await training;
    assert.equal(history.stoppedBy, 'callback');
    network.dispose();
    data.dispose();
  }
  assert.ok(existsSync(path.join(dir, 'training-progress.png')), 'the final chart is saved too');
});
