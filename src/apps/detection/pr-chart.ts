// The precision–recall chart of a detection evaluation: one curve per class (at IoU 0.5), its AP
// in the legend, drawn like the training and confusion charts (ECharts, PNG through sharp and a
// self-contained HTML page), in the colours drawDetections gives the classes.
import { savePng, saveHtml, type ChartOption } from '../../train/charts.js';
import type { DetectionEvaluation } from './metrics.js';
import { DETECTION_COLORS } from './draw.js';

const fmt = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(3));

/**
 * The points that carry the curve's shape: between two true positives recall is constant and
 * precision only falls, so the first and last point of each constant-recall run are enough.
 */
function curvePoints(precision: Float64Array, recall: Float64Array): [number, number][] {
  const n = precision.length;
  const out: [number, number][] = [];
  if (n === 0) return out;
  out.push([0, precision[0]!]);
  for (let i = 0; i < n; i++) {
    const first = i === 0 || recall[i] !== recall[i - 1];
    const last = i === n - 1 || recall[i] !== recall[i + 1];
    if (first || last) out.push([recall[i]!, precision[i]!]);
  }
  return out;
}

/** The ECharts option: recall (x) against precision (y), one line per class with truths. */
export function precisionRecallOption(e: DetectionEvaluation, title = `Precision–recall at IoU 0.5 (mAP@0.5 ${fmt(e.mAP50)})`): ChartOption {
  const series = e.perClass.map((p, c) => ({
    name: `${p.class} (AP ${fmt(p.ap50)})`,
    type: 'line',
    data: curvePoints(p.precision, p.recall),
    showSymbol: false,
    lineStyle: { width: 2, color: DETECTION_COLORS[c % DETECTION_COLORS.length] },
    itemStyle: { color: DETECTION_COLORS[c % DETECTION_COLORS.length] },
  })).filter((_, c) => e.perClass[c]!.truths > 0);
  const rows = Math.ceil(series.length / 4);
  const top = 70 + rows * 22;
  return {
    animation: false,
    title: { text: title, subtext: `AP: ${e.interpolation.ap50}; mAP@[${e.iouThresholds[0]!.toFixed(2)}:${e.iouThresholds.at(-1)!.toFixed(2)}] ${fmt(e.mAP)} (${e.interpolation.ap})`, left: 'center' },
    legend: { top: 58, type: 'plain' },
    tooltip: { trigger: 'item' },
    grid: { top, left: 70, right: 40, bottom: 60 },
    xAxis: { type: 'value', min: 0, max: 1, name: 'recall', nameLocation: 'middle', nameGap: 30 },
    yAxis: { type: 'value', min: 0, max: 1, name: 'precision', nameLocation: 'middle', nameGap: 45 },
    series,
  };
}

/**
 * Saves the precision–recall chart. `file` ending in .png or .html writes that one file;
 * otherwise `<file>.png` and `<file>.html` are both written. Returns the paths written.
 */
export async function precisionRecallChart(e: DetectionEvaluation, file: string, { title, width = 900, height = 640 }: { title?: string; width?: number; height?: number } = {}): Promise<string[]> {
  if (!e || !Array.isArray(e.perClass)) throw new TypeError('precisionRecallChart: evaluation must be what evaluateDetections returns');
  if (typeof file !== 'string' || file === '') throw new TypeError('precisionRecallChart: file must be a path');
  const option = precisionRecallOption(e, title);
  const pageTitle = title ?? 'dlkit precision–recall';
  const lower = file.toLowerCase();
  if (lower.endsWith('.png')) {
    await savePng(option, file, width, height);
    return [file];
  }
  if (lower.endsWith('.html')) {
    await saveHtml(option, pageTitle, file);
    return [file];
  }
  await savePng(option, `${file}.png`, width, height);
  await saveHtml(option, pageTitle, `${file}.html`);
  return [`${file}.png`, `${file}.html`];
}
