// The fast JPEG path (native/image/jpeg.cc through image-decode.ts) against sharp on JPEGs the
// test writes: the same region and output size give nearly the same pixels (4:2:0, 4:4:4, odd
// sizes, progressive, grayscale), mirrored output is the exact mirror, a region shows its own
// part of the image; EXIF-rotated, CMYK and non-JPEG files go to sharp; truncated and corrupt
// files are clear errors, every time, without growing memory.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, decodeRegion, ImageReadError, type DecodeSpec } from '../../src/data/image-decode.js';
import { fastJpegInfo, jpeg, setFastJpeg } from '../../src/data/jpeg.js';
import type { Pixels } from '../../src/data/image-ops.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-jpeg-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const spec = (o: Partial<DecodeSpec> = {}): DecodeSpec => ({ channels: 3, alpha: 'flatten', resize: null, limitInputPixels: 100_000_000, failOn: 'error', ...o });

/**
 * Photo-like RGB pixels: smooth color fields, a few edges and mild grain, with the left half
 * reddish and the right half bluish (to check which part a region shows).
 */
function photo(w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 16;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const left = x < w / 2;
      const ring = Math.hypot(x - w * 0.3, y - h * 0.6) < Math.min(w, h) / 5 ? 60 : 0;
      const r = (left ? 190 : 50) + 30 * Math.sin(x / 17) + ring + noise();
      const g = 100 + 60 * Math.sin(y / 23 + x / 41) + noise();
      const b = (left ? 40 : 200) + 30 * Math.cos(y / 13) - ring + noise();
      px.set([r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v)))), (y * w + x) * 3);
    }
  }
  return px;
}

interface Case { name: string; file: string; width: number; height: number; channels: 1 | 3 }
const cases: Case[] = [];

async function writeJpeg(name: string, w: number, h: number, opts: sharp.JpegOptions, gray = false): Promise<void> {
  const file = path.join(tmp, name);
  let img = sharp(photo(w, h), { raw: { width: w, height: h, channels: 3 } });
  if (gray) { // one channel in, a one-component JPEG out
    img = img.toColourspace('b-w');
  }
  await img.jpeg({ quality: 90, ...opts }).toFile(file);
  cases.push({ name, file, width: w, height: h, channels: gray ? 1 : 3 });
}

before(async () => {
  await writeJpeg('420.jpg', 500, 375, { chromaSubsampling: '4:2:0' });
  await writeJpeg('444-odd.jpg', 333, 251, { chromaSubsampling: '4:4:4' });
  await writeJpeg('small-odd.jpg', 97, 61, { chromaSubsampling: '4:2:0' });
  await writeJpeg('progressive.jpg', 640, 480, { progressive: true });
  await writeJpeg('gray.jpg', 301, 199, {}, true);
});

/** Mean absolute difference of two equally long byte arrays, in levels of 255. */
function mad(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

async function both<T>(fn: () => Promise<T>): Promise<{ fast: T; slow: T }> {
  const fast = await fn();
  setFastJpeg(false);
  try { return { fast, slow: await fn() }; } finally { setFastJpeg(true); }
}

test('the fast path is built and takes plain JPEGs', () => {
  assert.ok(jpeg, 'dlkit_jpeg.node loads');
  for (const c of cases) {
    const info = fastJpegInfo(readFileSync(c.file), c.channels);
    assert.deepEqual(info && [info.width, info.height, info.orientation], [c.width, c.height, 1], c.name);
  }
});

// Regions as fractions of the image [x, y, w, h], to outputs [w, h]: shrinking (DCT scaling
// plus antialiasing), enlarging, odd sizes, the whole image.
const regions: [number, number, number, number][] = [[0, 0, 1, 1], [0.1, 0.2, 0.6, 0.5], [0.5, 0.4, 0.3, 0.35], [0.73, 0.61, 0.27, 0.39], [0.2, 0.1, 0.11, 0.13]];
const outputs: [number, number][] = [[224, 224], [64, 48], [37, 53]];

test('regions: the fast path matches sharp within 3 levels of 255 (mean absolute difference)', async () => {
  let worst = 0;
  for (const c of cases) {
    for (const [fx, fy, fw, fh] of regions) {
      for (const [ow, oh] of outputs) {
        const pick = (w: number, h: number) => {
          const rw = Math.max(1, Math.round(fw * w)), rh = Math.max(1, Math.round(fh * h));
          return [Math.min(Math.round(fx * w), w - rw), Math.min(Math.round(fy * h), h - rh), rw, rh] as const;
        };
        const { fast, slow } = await both(() => decodeRegion(c.file, spec({ channels: c.channels }), pick, ow, oh));
        assert.deepEqual([fast!.width, fast!.height, fast!.channels], [ow, oh, c.channels]);
        const d = mad(fast!.data, slow!.data);
        worst = Math.max(worst, d);
        assert.ok(d < 3, `${c.name} region ${[fx, fy, fw, fh]} -> ${ow}x${oh}: mean abs difference ${d.toFixed(2)}`);
      }
    }
  }
  assert.ok(worst > 0, 'the fast path really ran (it is not bit-identical to libvips)');
});

test('whole-image decodes at the native or the same size are exactly what sharp gives; resizes stay with sharp', async () => {
  for (const c of cases) {
    const resizes: DecodeSpec['resize'][] = [null, { kind: 'exact', width: c.width, height: c.height, fit: 'fill' }, { kind: 'exact', width: c.width, height: c.height, fit: 'cover' }];
    for (const resize of resizes) {
      const { fast, slow } = await both(() => decodeImage(c.file, spec({ channels: c.channels, resize })));
      assert.deepEqual([fast.width, fast.height, fast.channels], [slow.width, slow.height, c.channels]);
      assert.deepEqual(fast.data, slow.data, `${c.name} ${JSON.stringify(resize)}`); // the same libjpeg-turbo, no resampling
    }
  }
});

test('geometry: mirrored output is the exact mirror; a region of the left half shows the left half', async () => {
  const c = cases[0]!; // 500x375, left half reddish, right half bluish
  const W = 96, H = 80, plane = W * H;
  const pick = () => [20, 30, 200, 300] as const; // inside the left half
  const plain = new Uint8Array(3 * plane), mirrorX = new Uint8Array(3 * plane), mirrorY = new Uint8Array(3 * plane);
  assert.equal(await decodeRegion(c.file, spec(), pick, W, H, { out: plain, flips: () => [false, false] }), null, 'written into the target');
  await decodeRegion(c.file, spec(), pick, W, H, { out: mirrorX, flips: () => [true, false] });
  await decodeRegion(c.file, spec(), pick, W, H, { out: mirrorY, flips: () => [false, true] });
  for (let ch = 0; ch < 3; ch++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = plain[ch * plane + y * W + x];
        assert.equal(mirrorX[ch * plane + y * W + (W - 1 - x)], v);
        assert.equal(mirrorY[ch * plane + (H - 1 - y) * W + x], v);
      }
    }
  }
  const mean = (a: Uint8Array, ch: number) => a.subarray(ch * plane, (ch + 1) * plane).reduce((s, v) => s + v, 0) / plane;
  assert.ok(mean(plain, 0) > 150 && mean(plain, 2) < 110, `left half is reddish: R ${mean(plain, 0)}, B ${mean(plain, 2)}`);
  const right = await decodeRegion(c.file, spec(), () => [280, 30, 200, 300], W, H) as Pixels;
  const hwcMean = (p: Pixels, ch: number) => { let s = 0; for (let i = ch; i < p.data.length; i += 3) s += p.data[i]!; return s / (p.width * p.height); };
  assert.ok(hwcMean(right, 0) < 110 && hwcMean(right, 2) > 150, `right half is bluish: R ${hwcMean(right, 0)}, B ${hwcMean(right, 2)}`);
  // The planar write is the HWC result transposed.
  const hwc = await decodeRegion(c.file, spec(), pick, W, H) as Pixels;
  for (let i = 0; i < plane; i++) for (let ch = 0; ch < 3; ch++) assert.equal(plain[ch * plane + i], hwc.data[i * 3 + ch]);
});

test('the region is picked once, from the size as shown', async () => {
  const c = cases[1]!;
  const seen: [number, number][] = [];
  await decodeRegion(c.file, spec(), (w, h) => { seen.push([w, h]); return [0, 0, w, h]; }, 32, 32);
  assert.deepEqual(seen, [[333, 251]]);
});

test('fallbacks: EXIF-rotated JPEG, CMYK JPEG, PNG named .jpg and color-to-gray go to sharp, same result as before', async () => {
  const w = 120, h = 80;
  const raw = sharp(photo(w, h), { raw: { width: w, height: h, channels: 3 } });
  const rotated = path.join(tmp, 'rotated.jpg');
  await raw.clone().jpeg().withMetadata({ orientation: 6 }).toFile(rotated);
  const cmyk = path.join(tmp, 'cmyk.jpg');
  await raw.clone().toColourspace('cmyk').jpeg().toFile(cmyk);
  const png = path.join(tmp, 'png.jpg');
  await raw.clone().png().toFile(png);
  const files: [string, 1 | 3][] = [[rotated, 3], [cmyk, 3], [png, 3], [cases[0]!.file, 1]];
  assert.equal(fastJpegInfo(readFileSync(rotated), 3), null, 'orientation 6');
  assert.equal(jpeg!.jpegInfo(readFileSync(rotated))!.orientation, 6);
  assert.equal(fastJpegInfo(readFileSync(cmyk), 3), null, 'CMYK');
  assert.equal(fastJpegInfo(readFileSync(png), 3), null, 'PNG bytes');
  assert.equal(fastJpegInfo(readFileSync(cases[0]!.file), 1), null, 'color JPEG to gray');
  for (const [file, channels] of files) {
    const seen: [number, number][] = [];
    const pick = (pw: number, ph: number) => { seen.push([pw, ph]); return [5, 7, Math.floor(pw / 2), Math.floor(ph / 2)] as const; };
    const { fast, slow } = await both(() => decodeRegion(file, spec({ channels }), pick, 40, 30));
    assert.deepEqual(fast!.data, slow!.data, file);
    if (file === rotated) assert.deepEqual(seen[0], [h, w], 'the size as shown: rotated by 90°');
    const a = await both(() => decodeImage(file, spec({ channels, resize: { kind: 'exact', width: 24, height: 24, fit: 'cover' } })));
    assert.deepEqual(a.fast.data, a.slow.data, file);
  }
});

/** A JPEG with its entropy-coded data damaged: bytes of the scan overwritten. */
function damage(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  let sos = out.indexOf(Buffer.from([0xff, 0xda]));
  sos += 2 + out.readUInt16BE(sos + 2);
  for (let i = sos + 200; i < sos + 260; i++) out[i] = 0xff;
  return out;
}

test('truncated and corrupt JPEGs: ImageReadError naming the problem, as failOn says', async () => {
  const bytes = readFileSync(cases[0]!.file);
  const truncated = path.join(tmp, 'truncated.jpg');
  writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  const corrupt = path.join(tmp, 'corrupt.jpg');
  writeFileSync(corrupt, damage(bytes));
  const pick = (w: number, h: number) => [0, 0, w, h] as const;
  for (const failOn of ['truncated', 'error'] as const) {
    await assert.rejects(decodeRegion(truncated, spec({ failOn }), pick, 64, 64), (e: Error) => e instanceof ImageReadError && /cannot decode: .*premature end/i.test(e.message));
    await assert.rejects(decodeImage(truncated, spec({ failOn })), /cannot decode: .*premature end/i);
  }
  await assert.rejects(decodeRegion(corrupt, spec({ failOn: 'error' }), pick, 64, 64), (e: Error) => e instanceof ImageReadError && /cannot decode: corrupt JPEG data/i.test(e.message));
  // failOn 'none' decodes what there is (libjpeg fills the rest), as sharp does.
  const t = await decodeRegion(truncated, spec({ failOn: 'none' }), pick, 64, 64);
  assert.equal(t!.data.length, 64 * 64 * 3);
  await decodeRegion(corrupt, spec({ failOn: 'truncated' }), pick, 64, 64);
});

test('corrupt JPEGs: an ImageReadError every time (200 decodes), no native memory growth (2,000 more)', async () => {
  const corrupt = damage(readFileSync(cases[3]!.file)); // 640x480 progressive: the largest buffers
  const pick = (w: number, h: number) => [0, 0, w, h] as const;
  for (let i = 0; i < 200; i++) await assert.rejects(decodeRegion(corrupt, spec(), pick, 224, 224), ImageReadError);
  // Straight to the addon: nothing of JavaScript's heap in the measurement.
  const out = new Uint8Array(224 * 224 * 3);
  const once = () => assert.throws(() => jpeg!.decodeJpegRegion(corrupt, 0, 0, 640, 480, 224, 224, 3, false, false, true, 2, out), /corrupt JPEG data/i);
  for (let i = 0; i < 500; i++) once();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 2000; i++) once();
  const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(grown < 4, `RSS grew ${grown.toFixed(1)} MiB over 2,000 failed decodes`);
});

test('the pixel limit is checked before decoding, with the error sharp gives', async () => {
  const pick = (w: number, h: number) => [0, 0, w, h] as const;
  const limited = spec({ limitInputPixels: 500 * 375 - 1 });
  await assert.rejects(decodeRegion(cases[0]!.file, limited, pick, 32, 32), (e: Error) => e instanceof ImageReadError && /image too large: .*pixel limit/.test(e.message));
  await assert.rejects(decodeImage(cases[0]!.file, limited), /image too large: .*pixel limit/);
  setFastJpeg(false);
  try { await assert.rejects(decodeImage(cases[0]!.file, limited), /image too large: .*pixel limit/); } finally { setFastJpeg(true); }
});
