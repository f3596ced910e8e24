// Charts people would rather see than read: training progress and confusion matrices.
// Drawn with ECharts (server-side SVG rendering, no canvas needed), saved as PNG through sharp
// and as a self-contained HTML page; the same chart options drive the live page in a browser.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as echarts from 'echarts';
import sharp from 'sharp';
import { writeFileAtomic } from './files.js';

export type ChartOption = Record<string, unknown>;

export interface ProgressPoint {
  iteration: number;
  epoch: number;
  loss: number;
  accuracy: number;
}

export interface ProgressData {
  training: ProgressPoint[];
  validation: ProgressPoint[];
  title?: string;
  iterationsPerEpoch?: number;
  status?: string;
}

/** Exponential moving average, as MATLAB's progress plot draws the smoothed curve. */
function smooth(values: [number, number][], weight = 0.9): [number, number][] {
  let s = 0;
  let n = 0;
  return values.map(([x, y]) => {
    n++;
    s = weight * s + (1 - weight) * y;
    return [x, s / (1 - weight ** n)]; // debiased: the first points are not pulled toward 0
  });
}

/** Accuracy (top) and loss (bottom) against iteration, training raw + smoothed, validation dots. */
export function trainingProgressOption(data: ProgressData): ChartOption {
  const acc = data.training.map((p) => [p.iteration, p.accuracy * 100] as [number, number]);
  const loss = data.training.map((p) => [p.iteration, p.loss] as [number, number]);
  const vacc = data.validation.map((p) => [p.iteration, p.accuracy * 100]);
  const vloss = data.validation.map((p) => [p.iteration, p.loss]);
  const line = (name: string, d: unknown[], axis: number, color: string, extra: Record<string, unknown> = {}) => ({
    name, type: 'line', data: d, xAxisIndex: axis, yAxisIndex: axis, showSymbol: false, lineStyle: { width: 1.5, color }, itemStyle: { color }, ...extra,
  });
  const epochMarks = data.iterationsPerEpoch
    ? { markLine: { silent: true, symbol: 'none', label: { show: false }, lineStyle: { color: '#ccc', type: 'dashed' }, data: epochLines(data) } }
    : {};
  return {
    animation: false,
    title: { text: data.title ?? 'Training progress', subtext: data.status ?? '', left: 'center' },
    legend: { top: 58 },
    tooltip: { trigger: 'axis' },
    grid: [{ top: 106, height: '30%', left: 70, right: 30 }, { top: '60%', height: '30%', left: 70, right: 30 }],
    xAxis: [
      { type: 'value', gridIndex: 0, min: 0, max: 'dataMax', axisLabel: { showMaxLabel: false }, name: '' },
      { type: 'value', gridIndex: 1, min: 0, max: 'dataMax', axisLabel: { showMaxLabel: false }, name: 'iteration', nameLocation: 'middle', nameGap: 28 },
    ],
    yAxis: [
      { type: 'value', gridIndex: 0, name: 'accuracy (%)', min: 0, max: 100 },
      { type: 'value', gridIndex: 1, name: 'loss', min: 0 },
    ],
    series: [
      line('training (raw)', acc, 0, '#a6c8ff', { lineStyle: { width: 0.8, color: '#a6c8ff' } }),
      line('training (smoothed)', smooth(acc), 0, '#1f5bd6', epochMarks),
      line('validation', vacc, 0, '#222', { showSymbol: true, symbolSize: 5, lineStyle: { type: 'dashed', width: 1, color: '#222' } }),
      line('training loss (raw)', loss, 1, '#ffc3a0', { lineStyle: { width: 0.8, color: '#ffc3a0' } }),
      line('training loss (smoothed)', smooth(loss), 1, '#d9541e'),
      line('validation loss', vloss, 1, '#222', { showSymbol: true, symbolSize: 5, lineStyle: { type: 'dashed', width: 1, color: '#222' } }),
    ],
  };
}

function epochLines(data: ProgressData): { xAxis: number }[] {
  const last = data.training.at(-1)?.iteration ?? 0;
  const per = data.iterationsPerEpoch!;
  const out: { xAxis: number }[] = [];
  for (let x = per; x < last; x += per) out.push({ xAxis: x });
  return out;
}

/** A confusion matrix heat map: true class (rows) against predicted class (columns). */
export function confusionOption(classes: readonly string[], matrix: readonly (readonly number[])[], title = 'Confusion matrix'): ChartOption {
  const data: [number, number, number][] = [];
  let max = 0;
  matrix.forEach((row, i) => row.forEach((v, j) => { data.push([j, i, v]); max = Math.max(max, v); }));
  const n = classes.length;
  return {
    animation: false,
    title: { text: title, left: 'center' },
    tooltip: { position: 'top' },
    grid: { top: 60, bottom: 110, left: 130, right: 90 },
    xAxis: { type: 'category', data: classes, name: 'predicted', nameLocation: 'middle', nameGap: 85, axisLabel: { rotate: 40, interval: 0 }, splitArea: { show: true } },
    yAxis: { type: 'category', data: classes, name: 'true', nameLocation: 'middle', nameGap: 110, inverse: true, axisLabel: { interval: 0 }, splitArea: { show: true } },
    visualMap: { min: 0, max: Math.max(max, 1), calculable: false, text: [String(Math.max(max, 1)), '0'], orient: 'vertical', right: 10, top: 'center', inRange: { color: ['#ffffff', '#1f5bd6'] } },
    series: [{ type: 'heatmap', data, label: { show: n <= 20, fontSize: n <= 10 ? 12 : 9 } }],
  };
}

// Server-side, ECharts lays text out (legend items, labels) with widths it estimates for Arial,
// but librsvg draws the PNG with DejaVu Sans (Debian's fonts-dejavu-core), ~15% wider: legend
// items ran into each other. So the SVG names DejaVu Sans and text is measured with its advance
// widths (ASCII 32-126 in 1/1000 em, read from DejaVuSans.ttf; other characters count 0.6 em).
const PNG_FONT = 'DejaVu Sans';
const DEJAVU_SANS_WIDTHS = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636,
  636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
  603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
  634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];
/** Width in pixels of `text` in a CSS font such as 'bold 18px DejaVu Sans' (bold: ~9% wider). */
export function measureChartText(text: string, font = '12px sans-serif'): number {
  const size = Number(/(\d+(?:\.\d+)?)px/.exec(font)?.[1] ?? 12);
  let em = 0;
  for (const ch of text) em += (DEJAVU_SANS_WIDTHS[ch.charCodeAt(0) - 32] ?? 600) / 1000;
  return em * size * (/bold|[6-9]00/.test(font) ? 1.09 : 1);
}
echarts.setPlatformAPI({ measureText: (text: string, font?: string) => ({ width: measureChartText(text, font) }) });

export function renderSvg(option: ChartOption, width = 900, height = 600): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ backgroundColor: '#fff', textStyle: { fontFamily: PNG_FONT }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export async function savePng(option: ChartOption, path: string, width = 900, height = 600): Promise<void> {
  const png = await sharp(Buffer.from(renderSvg(option, width, height))).png().toBuffer();
  await writeFileAtomic(path, png);
}

let echartsSource: string | undefined;
/** The ECharts browser bundle (served to the live page, inlined into saved pages). */
export function echartsScript(): string {
  if (echartsSource === undefined) {
    const require = createRequire(import.meta.url);
    echartsSource = readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsSource;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A page that draws `option`; self-contained (ECharts inlined) unless `scriptUrl` is given. */
export function chartHtml(option: ChartOption | null, title: string, { scriptUrl, pollUrl }: { scriptUrl?: string; pollUrl?: string } = {}): string {
  const script = scriptUrl ? `<script src="${scriptUrl}"></script>` : `<script>${echartsScript().replace(/<\/script/gi, '<\\/script')}</script>`;
  const poll = pollUrl
    ? `async function poll(){try{const r=await fetch(${JSON.stringify(pollUrl)},{cache:'no-store'});if(r.ok){const o=await r.json();chart.setOption(o,true);document.title=(o.title&&o.title.subtext)?${JSON.stringify(title)}+' — '+o.title.subtext:${JSON.stringify(title)};if(o.done)return;}}catch(e){}setTimeout(poll,1000);}poll();`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>html,body{margin:0;height:100%;font-family:sans-serif}#chart{width:100%;height:100%;min-height:560px}</style>
${script}</head>
<body><div id="chart"></div>
<script>
const chart = echarts.init(document.getElementById('chart'));
${option ? `chart.setOption(${JSON.stringify(option).replace(/</g, '\\u003c')});` : ''}
window.addEventListener('resize', () => chart.resize());
${poll}
</script></body></html>
`;
}

export async function saveHtml(option: ChartOption, title: string, path: string): Promise<void> {
  await writeFileAtomic(path, chartHtml(option, title));
}
