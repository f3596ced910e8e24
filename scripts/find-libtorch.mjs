#!/usr/bin/env node
// Finds the libtorch the native addon builds against, in the order DESIGN.md gives:
// $LIBTORCH, then a Python `torch` installation that ships headers, then the system package.
// Usage: node scripts/find-libtorch.mjs [include|libdir|json]
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

function describe(root, source) {
  const include = path.join(root, 'include');
  if (!existsSync(path.join(include, 'ATen', 'ATen.h'))) return null;
  const libdir = ['lib', 'lib/x86_64-linux-gnu', 'lib/aarch64-linux-gnu']
    .map((d) => path.join(root, d))
    .find((d) => existsSync(path.join(d, 'libtorch_cpu.so')));
  if (!libdir) return null;
  const api = path.join(include, 'torch', 'csrc', 'api', 'include');
  return { source, root, include: [include, ...(existsSync(api) ? [api] : [])], libdir };
}

export function findLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const found = describe(env, '$LIBTORCH');
    if (!found) throw new Error(`$LIBTORCH=${env} does not look like libtorch: expected ${env}/include/ATen/ATen.h and ${env}/lib/libtorch_cpu.so`);
    return found;
  }
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const dir = execFileSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000,
      }).trim();
      const found = dir && describe(dir, `python torch (${python})`);
      if (found) return found;
    } catch { /* no torch for this python: try the next source */ }
  }
  const system = describe('/usr', 'system package libtorch-dev');
  if (system) return system;
  throw new Error('libtorch not found: set $LIBTORCH, install a Python torch with headers, or install the Debian package libtorch-dev');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lt = findLibtorch();
  const what = process.argv[2] ?? 'json';
  if (what === 'include') console.log(lt.include.join(' '));
  else if (what === 'libdir') console.log(lt.libdir);
  else console.log(JSON.stringify(lt, null, 2));
}
