#!/usr/bin/env node
// Runs every compiled test file with Node's built-in test runner, one file at a time
// (libtorch already uses every core inside each op). Extra arguments filter files by substring.
import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(p));
    else if (entry.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = find(path.join(root, 'dist', 'test')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--expose-gc', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
