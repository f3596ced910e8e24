// The README's TypeScript example, as a user would use it: in a project of their own with dlkit
// installed, type-checked by tsc, and run (1 epoch instead of its 5, to keep the suite short).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-readme-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The code block that follows "The same in TypeScript:". */
function example(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /The same in TypeScript:\s*```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README.md has a ```ts block after "The same in TypeScript:"');
  return m[1]!;
}

test("the README's TypeScript example is about 10 lines, type-checks in a user's project and trains a CNN", () => {
  const code = example();
  const lines = code.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length <= 13, `the example has ${lines.length} lines`);
  // A user's project: dlkit in node_modules, an ES module package, tsc as dlkit uses it.
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules', 'dlkit'), 'dir');
  symlinkSync(path.join(root, 'node_modules', '@types'), path.join(dir, 'node_modules', '@types'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(path.join(dir, 'train.ts'), code);
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', '--outDir', 'out', 'train.ts'],
  { cwd: dir, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);

  const js = readFileSync(path.join(dir, 'out', 'train.js'), 'utf8');
  const short = js.replace('maxEpochs: 5', 'maxEpochs: 1');
  assert.notEqual(short, js, 'the example trains with maxEpochs: 5');
  writeFileSync(path.join(dir, 'out', 'train.js'), short);
  const run = spawnSync(process.execPath, [path.join('out', 'train.js')], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, `node out/train.js:\n${run.stdout}${run.stderr}`);
  const accuracy = Number(run.stdout.trim().split('\n').at(-1));
  assert.ok(accuracy > 0.8 && accuracy <= 1, `it prints the test accuracy: ${JSON.stringify(run.stdout.slice(-200))}`);
  assert.ok(existsSync(path.join(dir, 'fashion.safetensors')), 'and saves the model');
});

test("the README example's model file classifies the test set as well as it did when trained", async () => {
  const file = path.join(dir, 'fashion.safetensors');
  assert.ok(existsSync(file), 'the previous test saved it');
  const net = await dl.loadModel(file);
  const testSet = await dl.fashionMnist('test');
  try {
    const e = await dl.evaluate(net, testSet);
    assert.ok(e.accuracy > 0.8, `accuracy ${e.accuracy}`);
    assert.deepEqual(net.classes, testSet.classes);
  } finally {
    net.dispose();
    testSet.dispose();
  }
});

test("the README's detection example type-checks in a user's project", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /Detection in TypeScript:\s*```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README.md has a ```ts block after "Detection in TypeScript:"');
  const project = mkdtempSync(path.join(os.tmpdir(), 'dlkit-readme-detect-'));
  try {
    mkdirSync(path.join(project, 'node_modules'));
    symlinkSync(root, path.join(project, 'node_modules', 'dlkit'), 'dir');
    symlinkSync(path.join(root, 'node_modules', '@types'), path.join(project, 'node_modules', '@types'), 'dir');
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(path.join(project, 'detect.ts'), m[1]!);
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', 'detect.ts'],
    { cwd: project, encoding: 'utf8' });
    assert.equal(tsc.status, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
