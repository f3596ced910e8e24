#!/usr/bin/env node
// The dlkit command line: parses, validates, calls the library; no logic of its own.
import { parseArgs } from 'node:util';
import * as dl from '../index.js';

const USAGE = `usage: dlkit <command> [options]

commands:
  demo       the main job on the default data (Fashion-MNIST)
  info       libtorch build, threads, devices and memory
  help       this text`;

function info(): void {
  const m = dl.memory();
  console.log(`dlkit: libtorch with ${dl.getNumThreads()} intra-op threads, device ${dl.defaultDevice()}`);
  console.log(`memory: ${m.liveTensors} live tensors, ${m.inUseBytes} bytes in use, ${m.cachedBytes} cached`);
  console.log(dl.buildInfo().parallel.trim());
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'info':
      parseArgs({ args: rest, options: {} });
      info();
      return 0;
    case 'demo':
      parseArgs({ args: rest, options: {} });
      console.log('dlkit demo: training on Fashion-MNIST arrives with the training issue; the engine is ready:');
      info();
      return 0;
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(command ? `dlkit: unknown command '${command}'\n${USAGE}` : USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: Error) => { console.error(`dlkit: ${err.message}`); process.exitCode = 1; },
);
