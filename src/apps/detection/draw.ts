// Detections drawn on their image: a rectangle per box and a filled tag with the class name and
// score, one colour per class. sharp composites an SVG overlay (librsvg draws it), so no canvas
// is needed. Each rectangle has a dark halo under its coloured stroke and each tag picks black
// or white text by the colour's luminance, so both stay readable on light and dark images.
import sharp from 'sharp';
import { measureChartText } from '../../train/charts.js';

/** What drawDetections needs of a detection: scores are optional (ground truth has none). */
export interface DrawableDetections {
  boxes: Float32Array;
  labels: Int32Array;
  scores?: Float32Array;
}

export interface DrawOptions {
  classes: readonly string[];
  /** One CSS hex colour ('#rrggbb') per class; default DETECTION_COLORS, cycled. */
  colors?: readonly string[];
  /** Boxes scoring below this are not drawn (default 0: all). */
  minScore?: number;
  /** Stroke width in pixels (default: 2, or more on images over 1000 pixels). */
  lineWidth?: number;
  /** Tag font size in pixels (default: 12, or more on large images). */
  fontSize?: number;
}

/** Distinct colours that read on photographs (Kelly's and Tableau's palettes, the pale ones left out). */
export const DETECTION_COLORS: readonly string[] = Object.freeze([
  '#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#469990',
  '#9a6324', '#800000', '#aaffc3', '#808000', '#000075', '#fabed4', '#dcbeff', '#ffd8b1', '#a9a9a9', '#00ff7f',
]);

const FONT = 'DejaVu Sans';
const HEX = /^#[0-9a-fA-F]{6}$/;
const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** Black or white, whichever contrasts more with `hex` (WCAG relative luminance). */
function textColor(hex: string): string {
  const lin = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const [r, g, b] = [1, 3, 5].map((i) => lin(parseInt(hex.slice(i, i + 2), 16) / 255));
  const l = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

/**
 * Draws `detection` on `image` (a file path or encoded bytes; EXIF orientation applied, so box
 * coordinates are those of the upright image) and returns the result as PNG bytes.
 */
export async function drawDetections(image: string | Buffer, detection: DrawableDetections, options: DrawOptions): Promise<Buffer> {
  const known = new Set(['classes', 'colors', 'minScore', 'lineWidth', 'fontSize']);
  for (const k of Object.keys(options ?? {})) if (!known.has(k)) throw new RangeError(`drawDetections: unknown option '${k}' (known: ${[...known].join(', ')})`);
  const { classes, colors = DETECTION_COLORS, minScore = 0 } = options ?? ({} as DrawOptions);
  if (!Array.isArray(classes) || classes.length === 0) throw new TypeError('drawDetections: options.classes must be a non-empty array of class names');
  if (!Array.isArray(colors) || colors.length === 0) throw new TypeError('drawDetections: options.colors must be a non-empty array of colours');
  colors.forEach((c, i) => { if (!HEX.test(c)) throw new RangeError(`drawDetections: colors[${i}] must be a hex colour like '#e6194b', got '${c}'`); });
  const { boxes, labels, scores } = detection ?? ({} as DrawableDetections);
  if (!(boxes instanceof Float32Array) || boxes.length % 4 !== 0) throw new TypeError(`drawDetections: detection.boxes must be a Float32Array of x1,y1,x2,y2 rows${boxes instanceof Float32Array ? ` (got ${boxes.length} numbers)` : ''}`);
  const k = boxes.length / 4;
  if (!(labels instanceof Int32Array) || labels.length !== k) throw new RangeError(`drawDetections: detection.labels must be an Int32Array with one label per box (${k}), got ${labels instanceof Int32Array ? labels.length : typeof labels}`);
  if (scores !== undefined && (!(scores instanceof Float32Array) || scores.length !== k)) throw new RangeError(`drawDetections: detection.scores must be a Float32Array with one score per box (${k})`);
  for (let i = 0; i < k; i++) if (labels[i]! < 0 || labels[i]! >= classes.length) throw new RangeError(`drawDetections: detection.labels[${i}] is ${labels[i]}, outside the ${classes.length} classes`);

  const where = typeof image === 'string' ? image : 'the image';
  let width: number;
  let height: number;
  try {
    const meta = await sharp(image, { autoOrient: true }).metadata();
    width = meta.autoOrient?.width ?? meta.width!;
    height = meta.autoOrient?.height ?? meta.height!;
  } catch (e) {
    throw new Error(`drawDetections: cannot read ${where}: ${(e as Error).message}`);
  }
  const big = Math.max(width, height);
  const lw = Math.max(1, Math.round(options.lineWidth ?? Math.max(2, big / 500)));
  const fontSize = options.fontSize ?? Math.max(12, Math.round(big / 60));
  const pad = Math.ceil(fontSize * 0.25);
  const tagH = Math.ceil(fontSize * 1.3);

  // Draw the lowest scores first so the best boxes and their tags end up on top.
  const order = Array.from({ length: k }, (_, i) => i).filter((i) => (scores ? scores[i]! >= minScore : true));
  if (scores) order.sort((a, b) => scores[a]! - scores[b]! || b - a);
  const frames: string[] = [];
  const tags: string[] = [];
  for (const i of order) {
    let x1 = boxes[4 * i]!, y1 = boxes[4 * i + 1]!, x2 = boxes[4 * i + 2]!, y2 = boxes[4 * i + 3]!;
    if (![x1, y1, x2, y2].every(Number.isFinite)) continue;
    x1 = Math.max(0, Math.min(width, Math.round(x1)));
    y1 = Math.max(0, Math.min(height, Math.round(y1)));
    x2 = Math.max(0, Math.min(width, Math.round(x2)));
    y2 = Math.max(0, Math.min(height, Math.round(y2)));
    if (x2 <= x1 || y2 <= y1) continue;
    const color = colors[labels[i]! % colors.length]!;
    // The stroke lies inside the box (so a box at the image's edge stays visible), on whole pixels.
    const inset = lw / 2;
    const rw = Math.max(0, x2 - x1 - lw);
    const rh = Math.max(0, y2 - y1 - lw);
    frames.push(`<rect x="${x1 + inset}" y="${y1 + inset}" width="${rw}" height="${rh}" fill="none" stroke="#000000" stroke-opacity="0.55" stroke-width="${lw + 2}"/>`);
    frames.push(`<rect x="${x1 + inset}" y="${y1 + inset}" width="${rw}" height="${rh}" fill="none" stroke="${color}" stroke-width="${lw}"/>`);
    const text = scores ? `${classes[labels[i]!]} ${scores[i]!.toFixed(2)}` : classes[labels[i]!]!;
    const tagW = Math.ceil(measureChartText(text, `${fontSize}px ${FONT}`)) + 2 * pad;
    const tx = Math.max(0, Math.min(x1, width - tagW));
    const ty = y1 - tagH >= 0 ? y1 - tagH : y1; // above the box, or inside it at the top edge
    tags.push(`<rect x="${tx}" y="${ty}" width="${tagW}" height="${tagH}" fill="${color}"/>`
      + `<text x="${tx + pad}" y="${ty + tagH - Math.ceil((tagH - fontSize) / 2) - Math.round(fontSize * 0.2)}" font-family="${FONT}" font-size="${fontSize}" fill="${textColor(color)}">${escapeXml(text)}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" shape-rendering="crispEdges">${frames.join('')}${tags.join('')}</svg>`;
  try {
    return await sharp(image, { autoOrient: true }).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
  } catch (e) {
    throw new Error(`drawDetections: cannot draw on ${where}: ${(e as Error).message}`);
  }
}
