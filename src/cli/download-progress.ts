// Download progress on stderr, for the commands that may fetch zoo weights.

/** A download progress line on stderr: a bar in a terminal, a line per 10% otherwise. */
export function downloadProgress(what: string): (bytes: number, total: number | null) => void {
  let shown = -1;
  return (bytes, total) => {
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const pct = total ? Math.floor((100 * bytes) / total) : -1;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${what}: ${mib(bytes)}${total ? ` / ${mib(total)} MiB (${pct}%)` : ' MiB'}`);
      if (total && bytes >= total) process.stderr.write('\n');
    } else if (total && Math.floor(pct / 10) > shown) {
      shown = Math.floor(pct / 10);
      process.stderr.write(`${what}: ${mib(bytes)} / ${mib(total)} MiB (${pct}%)\n`);
    }
  };
}
