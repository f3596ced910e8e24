// `dlkit zoo`, `dlkit transfer` and `dlkit features --svm` end to end, as a user runs them, on
// the real CIFAR ResNet-20 weights and the ants/bees photos of shared/ (no test reaches outside
// the machine: the cache is a temporary DLKIT_HOME, weights come from shared/ or --weights).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { SHARED_DATA } from '../support/shared-data.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-zoo-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const home = path.join(tmp, 'home');

const dlkit = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', timeout: 300_000, env: { ...process.env, DLKIT_HOME: home } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `exit ${r.status}\n${r.stdout}\n${r.stderr}` };
};

const RESNET20 = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const PHOTOS = path.join(SHARED_DATA, 'hymenoptera');
const skip = existsSync(RESNET20) && existsSync(PHOTOS) ? false : `${RESNET20} or ${PHOTOS} not found: skipped`;

test('zoo list shows every model with size, license and source, and which are cached; zoo get finds a cached file; unknown names list the known ones', { skip }, () => {
  let r = dlkit('zoo', 'list');
  assert.equal(r.code, 0, r.all);
  for (const name of Object.keys(dl.ZOO)) assert.match(r.stdout, new RegExp(`^${name}\\s`, 'm'), `${name} listed`);
  assert.match(r.stdout, /^resnet20-cifar10\s+1\.0 MiB\s+-\s+BSD-2-Clause/m);
  mkdirSync(path.join(home, 'weights'), { recursive: true });
  copyFileSync(RESNET20, path.join(home, 'weights', 'resnet20-12fca82f.th'));
  r = dlkit('zoo', 'list');
  assert.match(r.stdout, /^resnet20-cifar10\s+1\.0 MiB\s+cached/m);
  r = dlkit('zoo', 'get', 'resnet20-cifar10');
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /resnet20-cifar10: .*resnet20-12fca82f\.th \(cached\)/);
  r = dlkit('zoo', 'get', 'resnet21');
  assert.equal(r.code, 1, r.all);
  assert.match(r.stderr, /resnet21.*resnet20-cifar10/);
});

test('transfer from the zoo name onto the ants/bees photos: a new head, the data\'s classes, a model that classifies; features --svm gives a model classify and evaluate take', { skip }, async () => {
  const out = path.join(tmp, 'transfer', 'model.safetensors');
  let r = dlkit('transfer', 'resnet20-cifar10', PHOTOS, '--weights', RESNET20, '--epochs', '1', '--quiet', '--seed', '0', '--out', out);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /data: 245 training images, 2 classes .*153 test; augmentation: reflectX/);
  assert.match(r.stdout, /new head 'linear' for 2 classes \(was fullyConnected \[10\]\)/);
  assert.match(r.stdout, /test accuracy: 0\.\d{4}/);
  const net = await dl.loadModel(out);
  assert.deepEqual(net.classes, ['ants', 'bees']);
  assert.deepEqual(net.inputShape, [3, 32, 32]);
  net.dispose();
  const ant = path.join(PHOTOS, 'val', 'ants', readdirSync(path.join(PHOTOS, 'val', 'ants')).sort()[0]!);
  r = dlkit('classify', out, ant);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /: (ants|bees) \(0\.\d{3}\), (ants|bees) \(0\.\d{3}\)/);

  const svm = path.join(tmp, 'features', 'svm.safetensors');
  mkdirSync(path.dirname(svm), { recursive: true });
  r = dlkit('features', 'resnet20-cifar10', PHOTOS, '--weights', RESNET20, '--layer', 'avgpool', '--svm', '--out', svm);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /features of 'avgpool': \[245, 64\] from 245 images/);
  const accuracy = Number(/test accuracy: (0\.\d+)/.exec(r.stdout)?.[1]);
  assert.ok(accuracy > 0.6, `SVM on the pooled features: val accuracy ${accuracy}`);
  r = dlkit('evaluate', svm, PHOTOS);
  assert.equal(r.code, 0, r.all);
  assert.equal(Number(/^accuracy: (0\.\d+)/m.exec(r.stdout)?.[1]), accuracy, 'evaluate on the saved model gives what features printed');
  r = dlkit('features', 'resnet20-cifar10', PHOTOS, '--weights', RESNET20, '--layer', 'no_such_layer');
  assert.equal(r.code, 1, r.all);
  assert.match(r.stderr, /no layer named 'no_such_layer'/);
});
