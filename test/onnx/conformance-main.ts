// `npm run conformance [substring…]`: runs the ONNX backend conformance suites, one line per suite,
// then every failed and excluded test with its reason (--quiet: counts only).
import { runConformance, summaryLines } from './conformance-runner.js';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const filters = args.filter((a) => !a.startsWith('--'));
const results = runConformance(undefined, filters.length ? (n) => filters.some((f) => n.includes(f)) : undefined);
if (!quiet) {
  for (const r of results) if (r.status !== 'passed') console.log(`${r.status === 'failed' ? 'FAILED  ' : 'excluded'} ${r.suite}/${r.name}: ${r.detail}`);
}
for (const line of summaryLines(results)) console.log(line);
process.exitCode = results.some((r) => r.status === 'failed') ? 1 : 0;
