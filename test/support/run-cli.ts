// Runs the compiled dlkit command as a child process without blocking the test's event loop
// (servers in the same test keep answering), killing it past a timeout.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/support -> repo
export const CLI = path.join(repo, 'dist', 'src', 'cli', 'main.js');

export interface CliRun { code: number | null; stdout: string; stderr: string }

export function runCli(args: readonly string[], { cwd, timeout = 60_000 }: { cwd: string; timeout?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`dlkit ${args.join(' ')} took over ${timeout / 1000} s\n${stdout}\n${stderr}`)); }, timeout);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}
