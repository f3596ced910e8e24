// Terminal progress: a bar for the current epoch (cli-progress) and a table row every N
// iterations, MATLAB-style. The bar only draws in a terminal; the table prints when verbose.
import cliProgress from 'cli-progress';

export interface ProgressRow {
  epoch: number;
  iteration: number;
  elapsed: number;
  loss: number;
  accuracy: number;
  validationLoss?: number;
  validationAccuracy?: number;
  learnRate: number;
  rate?: number; // observations per second
}

const COLUMNS: [string, number][] = [
  ['epoch', 7], ['iteration', 9], ['elapsed', 9], ['mini-batch loss', 15], ['mini-batch acc', 14],
  ['val loss', 9], ['val acc', 8], ['learn rate', 10], ['img/s', 7],
];

function hms(seconds: number): string {
  const s = Math.floor(seconds);
  return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export class ProgressReporter {
  readonly #bar: cliProgress.SingleBar | null;
  readonly #verbose: boolean;
  readonly #out: NodeJS.WriteStream;
  #headerShown = false;

  constructor({ verbose, maxEpochs, stream = process.stdout }: { verbose: boolean; maxEpochs: number; stream?: NodeJS.WriteStream }) {
    this.#verbose = verbose;
    this.#out = stream;
    this.#bar = verbose && stream.isTTY
      ? new cliProgress.SingleBar({
        format: `epoch {epoch}/${maxEpochs} [{bar}] {percentage}% | {value}/{total} it | loss {loss} | {rate} img/s | ETA {eta_formatted}`,
        hideCursor: true, clearOnComplete: true, stream, barsize: 30,
      }, cliProgress.Presets.shades_classic)
      : null;
  }

  /** A line of text above the bar. */
  log(line: string): void {
    if (!this.#verbose) return;
    if (this.#bar) this.#bar.stop();
    this.#out.write(line + '\n');
    this.#resume();
  }

  #barState: { total: number; value: number; payload: Record<string, unknown> } | null = null;
  #resume(): void {
    if (this.#bar && this.#barState) this.#bar.start(this.#barState.total, this.#barState.value, this.#barState.payload);
  }

  startEpoch(epoch: number, total: number, done = 0): void {
    this.#barState = { total, value: done, payload: { epoch, loss: '-', rate: '-' } };
    this.#bar?.start(total, done, this.#barState.payload);
  }

  tick(value: number, loss: number, rate: number): void {
    if (!this.#barState) return;
    this.#barState.value = value;
    this.#barState.payload = { ...this.#barState.payload, loss: loss.toFixed(4), rate: rate.toFixed(0) };
    this.#bar?.update(value, this.#barState.payload);
  }

  endEpoch(): void {
    this.#bar?.stop();
    this.#barState = null;
  }

  row(r: ProgressRow): void {
    if (!this.#verbose) return;
    const cells = [
      String(r.epoch), String(r.iteration), hms(r.elapsed), r.loss.toFixed(4), percent(r.accuracy),
      r.validationLoss === undefined ? '' : r.validationLoss.toFixed(4),
      r.validationAccuracy === undefined ? '' : percent(r.validationAccuracy),
      r.learnRate.toPrecision(3), r.rate === undefined ? '' : r.rate.toFixed(0),
    ];
    const lines: string[] = [];
    if (!this.#headerShown) {
      this.#headerShown = true;
      const rule = '|' + COLUMNS.map(([, w]) => '='.repeat(w + 2)).join('|') + '|';
      lines.push(rule, '|' + COLUMNS.map(([h, w]) => ` ${h.padStart(w)} `).join('|') + '|', rule);
    }
    lines.push('|' + cells.map((c, i) => ` ${c.padStart(COLUMNS[i]![1])} `).join('|') + '|');
    this.log(lines.join('\n'));
  }

  stop(): void {
    this.#bar?.stop();
  }
}

/** An accuracy as a table cell; '—' where the task computes none (a task loss). */
function percent(accuracy: number): string {
  return Number.isNaN(accuracy) ? '—' : `${(accuracy * 100).toFixed(2)}%`;
}
