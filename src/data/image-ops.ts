// Pixel operations of the image pipeline, in plain JavaScript over typed arrays: resampling a
// region (with flips), one affine warp, color jitter, random erasing, and the per-image random
// draws. No native code: the image workers import this (they load sharp and nothing else).
//
// Coordinates: x to the right, y down, pixel centers at integers (the pixel at column i covers
// [i - 0.5, i + 0.5]). Images are HWC (interleaved), as sharp gives them; float32 while they
// are worked on, rounded to uint8 once at the end.
import { seededRandom } from './datastore.js';

/** An 8-bit image, rows of interleaved channels (HWC). */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export type Range = readonly [number, number];

/** Resolved augmentation settings (see augment.ts for the user-facing options and their checks). */
export interface AugmentSpec {
  outH: number;
  outW: number;
  /**
   * stretch: the whole image to the output size; center-crop: scaled to cover the output, the
   * center kept; random-crop: a window of the output size at a random place (no scaling),
   * `cropPadding` pixels of fill around the image first; random-resized-crop: a random region
   * of `cropScale` of the area and `cropRatio` aspect, resized to the output.
   */
  mode: 'stretch' | 'center-crop' | 'random-crop' | 'random-resized-crop';
  cropPadding: number;
  cropScale: Range;
  cropRatio: Range;
  reflectX: boolean;
  reflectY: boolean;
  /** Degrees, counterclockwise as seen. */
  rotation: Range | null;
  scale: Range | null;
  /** Degrees. */
  shearX: Range | null;
  shearY: Range | null;
  /** Pixels of the output. */
  translateX: Range | null;
  translateY: Range | null;
  /** Value per channel for pixels that come from outside the image. */
  fill: readonly number[];
  /** Multiplicative factor ranges (1 = unchanged), torchvision's ColorJitter semantics. */
  brightness: Range | null;
  contrast: Range | null;
  saturation: Range | null;
  /** Hue shift range as a fraction of the color wheel, within [-0.5, 0.5]. */
  hue: Range | null;
  erasing: { probability: number; area: Range; ratio: Range; value: readonly number[] | 'random' } | null;
}

/** The random generator of one image in one epoch: a function of (seed, epoch, index) only. */
export function imageRandom(seed: number, epoch: number, index: number): () => number {
  return seededRandom(seed, (0x80000000 | (index & 0x7fffffff)) >>> 0, epoch);
}

const uniform = (random: () => number, [lo, hi]: Range): number => lo + (hi - lo) * random();

// ---- resampling -------------------------------------------------------------

/**
 * Taps of a 1-D resampling from `n` source pixels: output pixel i takes source position
 * start + (i + 0.5) * len / out - 0.5, filtered with a triangle as wide as the scale when
 * shrinking (antialiased, like PIL's bilinear) and bilinear when enlarging. An output pixel
 * whose position falls outside the source gets no taps (it is filled).
 */
interface Taps {
  first: Int32Array; // first source index per output pixel, -1 when outside
  count: Int32Array;
  weights: Float32Array; // `maxTaps` per output pixel
  maxTaps: number;
}

function taps(n: number, start: number, len: number, out: number, flip: boolean): Taps {
  const scale = len / out;
  const support = Math.max(1, scale);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(out);
  const count = new Int32Array(out);
  const weights = new Float32Array(out * maxTaps);
  for (let o = 0; o < out; o++) {
    const i = flip ? out - 1 - o : o;
    const center = start + (i + 0.5) * scale - 0.5;
    if (center < -0.5 || center > n - 0.5) { first[o] = -1; continue; }
    let lo = Math.max(0, Math.ceil(center - support));
    const hi = Math.min(n - 1, Math.floor(center + support));
    let sum = 0;
    const w = weights.subarray(o * maxTaps, (o + 1) * maxTaps);
    let k = 0;
    for (let s = lo; s <= hi && k < maxTaps; s++) {
      const v = 1 - Math.abs(s - center) / support;
      if (v <= 0 && k === 0) { lo = s + 1; continue; }
      w[k++] = Math.max(v, 0);
      sum += Math.max(v, 0);
    }
    while (k > 1 && w[k - 1] === 0) k--;
    if (sum <= 0) { // the center is within half a pixel of the border: nearest pixel
      lo = Math.min(n - 1, Math.max(0, Math.round(center)));
      w[0] = 1; k = 1; sum = 1;
    }
    for (let j = 0; j < k; j++) w[j]! /= sum;
    first[o] = lo;
    count[o] = k;
  }
  return { first, count, weights, maxTaps };
}

/** resampleRegion for a region as large as the output at whole-pixel offsets: the same values. */
function copyRegion(src: Pixels, x0: number, y0: number, outW: number, outH: number, flipX: boolean, flipY: boolean, fill: readonly number[], chw?: Uint8Array): Float32Array | null {
  const C = src.channels;
  const { width: W, height: H, data } = src;
  const plane = outW * outH;
  // chw: uint8 CHW, rounded and clamped like the resampling path; else float32 HWC.
  const out = chw ? new Uint8ClampedArray(chw.buffer, chw.byteOffset, C * plane) : new Float32Array(C * plane);
  const channelStride = chw ? plane : 1; // where channel c of output pixel o goes: o * pixelStride + c * channelStride
  const pixelStride = chw ? 1 : C;
  for (let oy = 0; oy < outH; oy++) {
    const sy = y0 + (flipY ? outH - 1 - oy : oy);
    const rowOut = oy * outW;
    for (let c = 0; c < C; c++) {
      const base = c * channelStride;
      const f = fill[c] ?? 0;
      if (sy < 0 || sy >= H) { for (let ox = 0; ox < outW; ox++) out[(rowOut + ox) * pixelStride + base] = f; continue; }
      const rowIn = sy * W * C + c;
      for (let ox = 0; ox < outW; ox++) {
        const sx = x0 + (flipX ? outW - 1 - ox : ox);
        out[(rowOut + ox) * pixelStride + base] = sx >= 0 && sx < W ? data[rowIn + sx * C]! : f;
      }
    }
  }
  return chw ? null : (out as Float32Array);
}

/**
 * The region (x0, y0, w, h) of `src` (it may reach outside the image: that part is `fill`)
 * resampled to outW×outH, mirrored when asked. Returns float32 HWC, or with `chw` writes
 * the result rounded to uint8 CHW there (the fast path when nothing else follows) and
 * returns null.
 */
export function resampleRegion(
  src: Pixels, x0: number, y0: number, w: number, h: number, outW: number, outH: number,
  flipX: boolean, flipY: boolean, fill: readonly number[], chw?: Uint8Array,
): Float32Array | null {
  // Unscaled at whole-pixel offsets (flips, padded random crops): the taps
  // would be single pixels, so copy (8.95 → 2.4 ms per batch of 256 Fashion-MNIST flips).
  if (w === outW && h === outH && Number.isInteger(x0) && Number.isInteger(y0)) return copyRegion(src, x0, y0, outW, outH, flipX, flipY, fill, chw);
  const C = src.channels;
  const W = src.width;
  const cols = taps(src.width, x0, w, outW, flipX);
  const rows = taps(src.height, y0, h, outH, flipY);
  // Horizontal pass over the source rows the vertical taps use, into planes: tmp[c][row - r0][x].
  let r0 = Infinity;
  let r1 = -1;
  for (let o = 0; o < outH; o++) {
    if (rows.first[o]! < 0) continue;
    r0 = Math.min(r0, rows.first[o]!);
    r1 = Math.max(r1, rows.first[o]! + rows.count[o]! - 1);
  }
  const nRows = Math.max(0, r1 - r0 + 1);
  const planeT = nRows * outW;
  const tmp = new Float32Array(C * planeT);
  const data = src.data;
  const cw = cols.weights;
  const cm = cols.maxTaps;
  for (let r = r0; r <= r1; r++) {
    const t = (r - r0) * outW;
    const s = r * W * C;
    for (let o = 0; o < outW; o++) {
      const f = cols.first[o]!;
      if (f < 0) { for (let c = 0; c < C; c++) tmp[c * planeT + t + o] = fill[c] ?? 0; continue; }
      const k = cols.count[o]!;
      if (k === 1) { for (let c = 0; c < C; c++) tmp[c * planeT + t + o] = data[s + f * C + c]!; continue; }
      const wo = o * cm;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        let p = s + f * C + c;
        for (let j = 0; j < k; j++, p += C) acc += cw[wo + j]! * data[p]!;
        tmp[c * planeT + t + o] = acc;
      }
    }
  }
  const rw = rows.weights;
  const rm = rows.maxTaps;
  const plane = outW * outH;
  if (chw) {
    const out = new Uint8ClampedArray(chw.buffer, chw.byteOffset, C * plane);
    for (let c = 0; c < C; c++) {
      const tc = c * planeT;
      for (let o = 0; o < outH; o++) {
        const d = c * plane + o * outW;
        const f = rows.first[o]!;
        if (f < 0) { out.fill(fill[c] ?? 0, d, d + outW); continue; }
        const k = rows.count[o]!;
        const t0 = tc + (f - r0) * outW;
        if (k === 1) { for (let x = 0; x < outW; x++) out[d + x] = tmp[t0 + x]!; continue; }
        const wo = o * rm;
        for (let x = 0; x < outW; x++) {
          let acc = 0;
          for (let j = 0, t = t0 + x; j < k; j++, t += outW) acc += rw[wo + j]! * tmp[t]!;
          out[d + x] = acc;
        }
      }
    }
    return null;
  }
  const dst = new Float32Array(plane * C);
  for (let o = 0; o < outH; o++) {
    const f = rows.first[o]!;
    const d = o * outW * C;
    const k = rows.count[o]!;
    const wo = o * rm;
    for (let c = 0; c < C; c++) {
      const tc = c * planeT;
      if (f < 0) { for (let x = 0; x < outW; x++) dst[d + x * C + c] = fill[c] ?? 0; continue; }
      const t0 = tc + (f - r0) * outW;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let j = 0, t = t0 + x; j < k; j++, t += outW) acc += rw[wo + j]! * tmp[t]!;
        dst[d + x * C + c] = acc;
      }
    }
  }
  return dst;
}

// ---- affine -----------------------------------------------------------------

/**
 * Warps a float32 HWC image about its center: output = center + M (input - center) + t,
 * sampled bilinearly; what comes from outside the image is `fill` (blended at the border).
 * M is row-major [a, b, c, d]: x' = a x + b y, y' = c x + d y.
 */
export function affineWarp(src: Float32Array, W: number, H: number, C: number, M: readonly number[], tx: number, ty: number, fill: readonly number[]): Float32Array {
  const [a, b, c, d] = M as [number, number, number, number];
  const det = a * d - b * c;
  if (Math.abs(det) < 1e-12) throw new RangeError(`affine transform is singular (matrix [${M.join(', ')}])`);
  // inverse of M
  const ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  const out = new Float32Array(W * H * C);
  const snap = (v: number) => { const r = Math.round(v); return Math.abs(v - r) < 1e-6 ? r : v; };
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      const qx = u - cx - tx;
      const qy = v - cy - ty;
      const px = snap(ia * qx + ib * qy + cx);
      const py = snap(ic * qx + id * qy + cy);
      const o = (v * W + u) * C;
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const fx = px - x0;
      const fy = py - y0;
      // the four neighbours (-1: outside, reads the fill) and their weights
      const inX0 = x0 >= 0 && x0 < W, inX1 = x0 + 1 >= 0 && x0 + 1 < W;
      const inY0 = y0 >= 0 && y0 < H, inY1 = y0 + 1 >= 0 && y0 + 1 < H;
      const i00 = inX0 && inY0 ? (y0 * W + x0) * C : -1;
      const i10 = inX1 && inY0 ? (y0 * W + x0 + 1) * C : -1;
      const i01 = inX0 && inY1 ? ((y0 + 1) * W + x0) * C : -1;
      const i11 = inX1 && inY1 ? ((y0 + 1) * W + x0 + 1) * C : -1;
      const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
      for (let ch = 0; ch < C; ch++) {
        const f = fill[ch] ?? 0;
        let acc = 0;
        if (w00 !== 0) acc += w00 * (i00 < 0 ? f : src[i00 + ch]!);
        if (w10 !== 0) acc += w10 * (i10 < 0 ? f : src[i10 + ch]!);
        if (w01 !== 0) acc += w01 * (i01 < 0 ? f : src[i01 + ch]!);
        if (w11 !== 0) acc += w11 * (i11 < 0 ? f : src[i11 + ch]!);
        out[o + ch] = acc;
      }
    }
  }
  return out;
}

// ---- color ------------------------------------------------------------------

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const gray = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

/** Multiplies every value by `factor` (brightness). */
export function adjustBrightness(img: Float32Array, factor: number): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp255(img[i]! * factor);
}

/** Blends with the mean gray level (contrast): factor 0 gives a flat gray image. */
export function adjustContrast(img: Float32Array, C: number, factor: number): void {
  let mean = 0;
  const n = img.length / C;
  if (C >= 3) for (let i = 0; i < img.length; i += C) mean += gray(img[i]!, img[i + 1]!, img[i + 2]!);
  else for (let i = 0; i < img.length; i += C) mean += img[i]!;
  mean /= n;
  for (let i = 0; i < img.length; i++) img[i] = clamp255(factor * img[i]! + (1 - factor) * mean);
}

/** Blends each pixel with its own gray level (saturation): factor 0 gives grayscale. RGB only. */
export function adjustSaturation(img: Float32Array, C: number, factor: number): void {
  if (C < 3) return;
  for (let i = 0; i < img.length; i += C) {
    const g = gray(img[i]!, img[i + 1]!, img[i + 2]!);
    for (let c = 0; c < 3; c++) img[i + c] = clamp255(factor * img[i + c]! + (1 - factor) * g);
  }
}

/** Rotates the hue by `shift` turns (HSV), as torchvision's adjust_hue. RGB only. */
export function adjustHue(img: Float32Array, C: number, shift: number): void {
  if (C < 3 || shift === 0) return;
  for (let i = 0; i < img.length; i += C) {
    const r = img[i]! / 255, g = img[i + 1]! / 255, b = img[i + 2]! / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const delta = max - min;
    if (delta === 0) continue; // gray: no hue
    let h = max === r ? (g - b) / delta : max === g ? 2 + (b - r) / delta : 4 + (r - g) / delta;
    h = (h / 6 + shift) % 1;
    if (h < 0) h += 1;
    const s = delta / max;
    const v = max;
    const h6 = h * 6;
    const k = Math.floor(h6);
    const f = h6 - k;
    const p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const [R, G, B] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][k % 6]!;
    img[i] = R! * 255;
    img[i + 1] = G! * 255;
    img[i + 2] = B! * 255;
  }
}

// ---- one image --------------------------------------------------------------

/** The region of the source that random-resized-crop takes (torchvision's algorithm): [x, y, w, h]. */
export function randomResizedRegion(W: number, H: number, scale: Range, ratio: Range, random: () => number): [number, number, number, number] {
  const area = W * H;
  const logRatio: Range = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(random, scale);
    const aspect = Math.exp(uniform(random, logRatio));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= W && h <= H) {
      const y = Math.floor(random() * (H - h + 1));
      const x = Math.floor(random() * (W - w + 1));
      return [x, y, w, h];
    }
  }
  // Fallback: the central crop with the aspect ratio clamped into range.
  const inRatio = W / H;
  let w: number, h: number;
  if (inRatio < ratio[0]) { w = W; h = Math.round(w / ratio[0]); }
  else if (inRatio > ratio[1]) { h = H; w = Math.round(h * ratio[1]); }
  else { w = W; h = H; }
  return [Math.floor((W - w) / 2), Math.floor((H - h) / 2), w, h];
}

const DEG = Math.PI / 180;

/** Whether `spec` does nothing after the region but mirror it (then augmentImage draws nothing more). */
export function onlyFlips(spec: AugmentSpec): boolean {
  return !spec.rotation && !spec.scale && !spec.shearX && !spec.shearY && !spec.translateX && !spec.translateY
    && !spec.brightness && !spec.contrast && !spec.saturation && !spec.hue && !spec.erasing;
}

/**
 * One augmented observation: `src` (the decoded image, at the size the spec's mode decodes to)
 * through the spec's random transforms drawn from `random`, written as uint8 CHW into `out`.
 * The order of the draws is fixed, so (seed, epoch, index) determine the result.
 */
export function augmentImage(src: Pixels, spec: AugmentSpec, random: () => number, out: Uint8Array): void {
  const { outW, outH } = spec;
  const C = src.channels;
  // 1. the region of the source that becomes the output
  let region: [number, number, number, number];
  switch (spec.mode) {
    case 'stretch': region = [0, 0, src.width, src.height]; break;
    case 'center-crop': {
      // cover: scale so the output is filled, keep the center
      const s = Math.min(src.width / outW, src.height / outH);
      const w = outW * s, h = outH * s;
      region = [(src.width - w) / 2, (src.height - h) / 2, w, h];
      break;
    }
    case 'random-crop': {
      const p = spec.cropPadding;
      const rangeX = src.width + 2 * p - outW;
      const rangeY = src.height + 2 * p - outH;
      const x = rangeX >= 0 ? Math.floor(random() * (rangeX + 1)) - p : Math.floor(rangeX / 2) - p;
      const y = rangeY >= 0 ? Math.floor(random() * (rangeY + 1)) - p : Math.floor(rangeY / 2) - p;
      region = [x, y, outW, outH];
      break;
    }
    case 'random-resized-crop': region = randomResizedRegion(src.width, src.height, spec.cropScale, spec.cropRatio, random); break;
  }
  // 2. reflections, folded into the resampling
  const flipX = spec.reflectX && random() < 0.5;
  const flipY = spec.reflectY && random() < 0.5;
  const warps = Boolean(spec.rotation || spec.scale || spec.shearX || spec.shearY || spec.translateX || spec.translateY);
  if (onlyFlips(spec)) {
    resampleRegion(src, region[0], region[1], region[2], region[3], outW, outH, flipX, flipY, spec.fill, out);
    return;
  }
  let img = resampleRegion(src, region[0], region[1], region[2], region[3], outW, outH, flipX, flipY, spec.fill)!;
  // 3. one affine warp for rotation, scale, shear and translation
  if (warps) {
    const theta = spec.rotation ? uniform(random, spec.rotation) * DEG : 0;
    const s = spec.scale ? uniform(random, spec.scale) : 1;
    const shx = spec.shearX ? Math.tan(uniform(random, spec.shearX) * DEG) : 0;
    const shy = spec.shearY ? Math.tan(uniform(random, spec.shearY) * DEG) : 0;
    const tx = spec.translateX ? uniform(random, spec.translateX) : 0;
    const ty = spec.translateY ? uniform(random, spec.translateY) : 0;
    // M = R(theta) · shear · s; R turns counterclockwise as seen (y points down).
    const cos = Math.cos(theta), sin = Math.sin(theta);
    const S = [s, s * shx, s * shy, s * (1 + shx * shy)]; // [[1, shx], [0, 1]] · [[1, 0], [shy, 1]] · s
    const M = [
      cos * S[0]! + sin * S[2]!, cos * S[1]! + sin * S[3]!,
      -sin * S[0]! + cos * S[2]!, -sin * S[1]! + cos * S[3]!,
    ];
    const identity = M[0] === 1 && M[1] === 0 && M[2] === 0 && M[3] === 1 && tx === 0 && ty === 0;
    if (!identity) img = affineWarp(img, outW, outH, C, M, tx, ty, spec.fill);
  }
  // 4. color jitter, in a fixed order
  if (spec.brightness) adjustBrightness(img, uniform(random, spec.brightness));
  if (spec.contrast) adjustContrast(img, C, uniform(random, spec.contrast));
  if (spec.saturation) adjustSaturation(img, C, uniform(random, spec.saturation));
  if (spec.hue) adjustHue(img, C, uniform(random, spec.hue));
  // 5. random erasing (torchvision's RandomErasing)
  const e = spec.erasing;
  if (e && random() < e.probability) {
    const area = outW * outH;
    const logRatio: Range = [Math.log(e.ratio[0]), Math.log(e.ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * uniform(random, e.area);
      const aspect = Math.exp(uniform(random, logRatio));
      const h = Math.round(Math.sqrt(target * aspect));
      const w = Math.round(Math.sqrt(target / aspect));
      if (h < 1 || w < 1 || h > outH || w > outW) continue;
      const top = Math.floor(random() * (outH - h + 1));
      const left = Math.floor(random() * (outW - w + 1));
      for (let y = top; y < top + h; y++) {
        for (let x = left; x < left + w; x++) {
          const o = (y * outW + x) * C;
          for (let c = 0; c < C; c++) img[o + c] = e.value === 'random' ? Math.floor(random() * 256) : e.value[c] ?? e.value[0] ?? 0;
        }
      }
      break;
    }
  }
  floatHwcToChw(img, outW, outH, C, out);
}

/** Float HWC → uint8 CHW, rounded (half to even) and clamped to 0–255. */
export function floatHwcToChw(img: Float32Array, W: number, H: number, C: number, out: Uint8Array): void {
  const o = new Uint8ClampedArray(out.buffer, out.byteOffset, W * H * C);
  const plane = W * H;
  if (C === 1) { o.set(img); return; }
  for (let c = 0; c < C; c++) {
    const base = c * plane;
    for (let i = 0, s = c; i < plane; i++, s += C) o[base + i] = img[s]!;
  }
}

/** Uint8 HWC → uint8 CHW. */
export function hwcToChw(src: Uint8Array, W: number, H: number, C: number, out: Uint8Array): void {
  const plane = W * H;
  if (C === 1) { out.set(src.subarray(0, plane)); return; }
  for (let c = 0; c < C; c++) {
    const base = c * plane;
    for (let i = 0, s = c; i < plane; i++, s += C) out[base + i] = src[s]!;
  }
}
