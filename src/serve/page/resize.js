// The in-browser mode's resize: a frame's pixels to the model's input, float32 [C, H, W] in 0–255,
// by area averaging (each output pixel is the mean of the source pixels it covers, fractional
// edges weighted). Done here in plain JS rather than with canvas drawImage, whose downscaling
// filter differs between browsers and versions, so that the page's input is reproducible (the
// Node tests import this same module). It is not sharp's Lanczos resize the server uses: the two
// modes' scores differ slightly. No DOM use, so Node can import it; no code runs on load.

/** For each of `outSize` cells over `inSize` source pixels: the covered source pixels and their weights (summing to 1). */
function areaWeights(inSize, outSize) {
  const scale = inSize / outSize;
  const cells = [];
  for (let o = 0; o < outSize; o++) {
    const lo = o * scale, hi = (o + 1) * scale;
    const index = [], weight = [];
    for (let i = Math.floor(lo); i < Math.min(inSize, Math.ceil(hi)); i++) {
      const w = Math.min(i + 1, hi) - Math.max(i, lo);
      if (w > 0) { index.push(i); weight.push(w / scale); }
    }
    cells.push({ index, weight });
  }
  return cells;
}

/**
 * Resizes interleaved 8-bit pixels (`stride` bytes a pixel: 4 for canvas RGBA, 3 for RGB; the
 * first three are R, G, B) of `width`×`height` to `outW`×`outH`, as `channels` (3: RGB planes;
 * 1: BT.601 luma) float32 CHW.
 */
export function areaResizeChw(pixels, width, height, stride, channels, outW, outH) {
  if (channels !== 1 && channels !== 3) throw new RangeError(`areaResizeChw: channels must be 1 or 3, got ${channels}`);
  if (pixels.length < width * height * stride) throw new RangeError(`areaResizeChw: ${pixels.length} bytes for ${width}×${height}×${stride}`);
  const xs = areaWeights(width, outW);
  const ys = areaWeights(height, outH);
  // Rows first: [height, outW, 3], then columns into the planes.
  const rows = new Float32Array(height * outW * 3);
  for (let y = 0; y < height; y++) {
    for (let ox = 0; ox < outW; ox++) {
      const { index, weight } = xs[ox];
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < index.length; k++) {
        const p = (y * width + index[k]) * stride;
        r += weight[k] * pixels[p];
        g += weight[k] * pixels[p + 1];
        b += weight[k] * pixels[p + 2];
      }
      const q = (y * outW + ox) * 3;
      rows[q] = r; rows[q + 1] = g; rows[q + 2] = b;
    }
  }
  const plane = outW * outH;
  const out = new Float32Array(channels * plane);
  for (let oy = 0; oy < outH; oy++) {
    const { index, weight } = ys[oy];
    for (let ox = 0; ox < outW; ox++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < index.length; k++) {
        const q = (index[k] * outW + ox) * 3;
        r += weight[k] * rows[q];
        g += weight[k] * rows[q + 1];
        b += weight[k] * rows[q + 2];
      }
      const i = oy * outW + ox;
      if (channels === 1) out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
      else { out[i] = r; out[plane + i] = g; out[2 * plane + i] = b; }
    }
  }
  return out;
}
