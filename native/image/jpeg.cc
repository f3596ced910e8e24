// dlkit_jpeg: the image pipeline's fast JPEG path, a region of a JPEG decoded and resized in one
// call, over libjpeg-turbo. A separate addon from dlkit.node (no libtorch), so the image worker
// threads load it in microseconds. No global state: safe in any number of worker threads.
//
//   jpegInfo(bytes) -> { width, height, orientation, components, fast } | null
//   decodeJpegRegion(bytes, left, top, width, height, outWidth, outHeight, channels, flipX,
//                    flipY, planar, failOn, out) -> true | false (false: use the general decoder)
//
// The region is in pixels of the stored image (doubles: pixel edges, so fractional regions work).
// The speed comes from decoding no more than the output needs: DCT-domain scaling (M/8, the
// smallest M that keeps the scaled region at least the output size), only the iMCU columns of
// the region (jpeg_crop_scanline), no IDCT above it (jpeg_skip_scanlines), nothing below it.
#include <napi.h>

#include <jpeglib.h>
#include <jerror.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstring>

#include <emmintrin.h>  // SSE2: part of every x86-64 CPU

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

namespace {

// sharp's failOn levels, in order of sensitivity.
enum FailOn { kNone = 0, kTruncated = 1, kError = 2, kWarning = 3 };

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  int failOn;
  char message[JMSG_LENGTH_MAX];
};

// libjpeg's default error_exit calls exit(): jump back to the caller instead.
void errorExit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  longjmp(e->jump, 1);
}

// Warnings (level -1) are how libjpeg reports corrupt and truncated data (it then fills in gray
// and goes on). Fatal as sharp's failOn says: 'truncated' stops on a premature end only,
// 'error' and 'warning' on every corrupt-data warning.
void emitMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  const bool fatal = e->failOn >= kError || (e->failOn == kTruncated && cinfo->err->msg_code == JWRN_JPEG_EOF);
  if (fatal) errorExit(cinfo);
  cinfo->err->num_warnings++;
}

// The EXIF orientation (1-8) in an APP1 "Exif" marker; 1 when absent, 0 when unreadable.
int exifOrientation(const jpeg_saved_marker_ptr marker) {
  const uint8_t* p = marker->data;
  const size_t n = marker->data_length;
  if (n < 14 || std::memcmp(p, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* t = p + 6;  // TIFF header
  const size_t tn = n - 6;
  bool le;
  if (t[0] == 'I' && t[1] == 'I') le = true;
  else if (t[0] == 'M' && t[1] == 'M') le = false;
  else return 0;
  auto u16 = [&](size_t o) -> uint32_t { return le ? t[o] | t[o + 1] << 8 : t[o] << 8 | t[o + 1]; };
  auto u32 = [&](size_t o) -> uint32_t { return le ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2); };
  const size_t ifd = u32(4);
  if (ifd + 2 > tn) return 0;
  const size_t count = u16(ifd);
  for (size_t i = 0; i < count; i++) {
    const size_t entry = ifd + 2 + 12 * i;
    if (entry + 12 > tn) return 0;
    if (u16(entry) != 0x0112) continue;
    const uint32_t v = u16(entry + 8);  // type SHORT, count 1: the value is inline
    return u16(entry + 2) == 3 && v >= 1 && v <= 8 ? static_cast<int>(v) : 0;
  }
  return 1;
}

// Whether an embedded ICC profile (APP2 "ICC_PROFILE" chunks) is sRGB: libvips converts other
// profiles to sRGB, this decoder does not. The profile's description names it ("sRGB
// IEC61966-2.1"), in ASCII (ICC v2 'desc') or UTF-16 (v4 'mluc').
bool iccIsSrgbOrAbsent(j_decompress_ptr cinfo) {
  bool any = false;
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
    if (m->marker != JPEG_APP0 + 2 || m->data_length < 14 || std::memcmp(m->data, "ICC_PROFILE\0", 12) != 0) continue;
    any = true;
    const uint8_t* p = m->data + 14;
    const size_t n = m->data_length - 14;
    for (size_t i = 0; i + 7 <= n; i++) {
      if (p[i] == 's' && std::memcmp(p + i, "sRGB", 4) == 0) return true;
      if (p[i] == 's' && p[i + 1] == 0 && p[i + 2] == 'R' && p[i + 4] == 'G' && p[i + 6] == 'B') return true;
    }
  }
  return !any;
}

// What this decoder handles: 8-bit gray, YCbCr or RGB, no other color profile than sRGB.
bool decodable(j_decompress_ptr cinfo) {
  const J_COLOR_SPACE cs = cinfo->jpeg_color_space;
  const bool color = (cs == JCS_YCbCr || cs == JCS_RGB) && cinfo->num_components == 3;
  const bool gray = cs == JCS_GRAYSCALE && cinfo->num_components == 1;
  return (color || gray) && cinfo->data_precision == 8 && iccIsSrgbOrAbsent(cinfo);
}

// One decompressor over a byte buffer; destroyed on every path (its pools hold all the memory).
struct Decoder {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  explicit Decoder(int failOn) {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = errorExit;
    err.pub.emit_message = emitMessage;
    err.failOn = failOn;
    err.message[0] = 0;
    jpeg_create_decompress(&cinfo);
  }
  ~Decoder() { jpeg_destroy_decompress(&cinfo); }
};

bool isJpeg(const uint8_t* p, size_t n) { return n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF; }

// 1-D triangle-filter taps from a source span to `out` samples: output i takes source position
// start + (i + 0.5) * scale - 0.5 with a triangle as wide as the scale when shrinking (area
// averaging, like libvips' and PIL's antialiased 'linear') and plain bilinear when enlarging.
// Taps are clipped to source pixels [lo, hi] (the region: libvips extends the extracted
// region's edges, it does not read beyond them) and renormalized.
struct Taps {
  int* first;
  int* count;
  int32_t* weights;  // maxTaps per output sample, fixed point: they sum to 1 << kBits
  int maxTaps;
  bool padded;  // every output's `taps` taps lie inside [lo, hi] (zero weights where unused)
  int taps;      // the most taps any output uses (<= maxTaps)
};

// PIL's resampling precision: weights in 1/2^14, 8-bit intermediate rows, integer sums. Integer
// sums ran ~2x faster than float here (the float adds chain at 4 cycles each, plus a
// conversion per source byte).
constexpr int kBits = 14;

Taps makeTaps(j_decompress_ptr cinfo, double start, double len, int out, int lo, int hi) {
  const double scale = len / out;
  const double support = std::max(1.0, scale);
  Taps t;
  t.maxTaps = static_cast<int>(std::ceil(support)) * 2 + 2;  // even: the SSE2 loops read taps in pairs
  t.taps = 1;
  auto alloc = cinfo->mem->alloc_small;
  auto common = reinterpret_cast<j_common_ptr>(cinfo);
  t.first = static_cast<int*>(alloc(common, JPOOL_IMAGE, sizeof(int) * out));
  t.count = static_cast<int*>(alloc(common, JPOOL_IMAGE, sizeof(int) * out));
  t.weights = static_cast<int32_t*>(cinfo->mem->alloc_large(common, JPOOL_IMAGE, sizeof(int32_t) * out * t.maxTaps));
  double w[64];
  for (int i = 0; i < out; i++) {
    const double center = start + (i + 0.5) * scale - 0.5;
    int a = std::max(lo, static_cast<int>(std::ceil(center - support)));
    const int b = std::min(hi, static_cast<int>(std::floor(center + support)));
    double sum = 0;
    int k = 0;
    for (int s = a; s <= b && k < t.maxTaps && k < 64; s++) {
      const double v = 1 - std::fabs(s - center) / support;
      if (v <= 0 && k == 0) { a = s + 1; continue; }  // leading zero weight: start later
      w[k++] = std::max(v, 0.0);
      sum += std::max(v, 0.0);
    }
    while (k > 1 && w[k - 1] == 0) k--;
    if (sum <= 0) {  // center within half a pixel of the edge: the nearest pixel
      a = std::min(hi, std::max(lo, static_cast<int>(std::lround(center))));
      w[0] = 1; k = 1; sum = 1;
    }
    int32_t* iw = t.weights + i * t.maxTaps;
    int32_t total = 0, big = 0;
    for (int j = 0; j < k; j++) {
      iw[j] = static_cast<int32_t>(std::lround(w[j] / sum * (1 << kBits)));
      total += iw[j];
      if (iw[j] > iw[big]) big = j;
    }
    iw[big] += (1 << kBits) - total;  // exact unit sum: flat areas stay flat
    for (int j = k; j < t.maxTaps; j++) iw[j] = 0;
    t.first[i] = a;
    t.count[i] = k;
    t.taps = std::max(t.taps, k);
  }
  // Near the right edge, start earlier (leading zero weights) so that `taps` taps from `first`
  // stay inside [lo, hi]: the fixed-count loops read them all.
  t.padded = hi - lo + 1 >= t.taps;
  for (int i = 0; t.padded && i < out; i++) {
    const int over = t.first[i] + t.taps - 1 - hi;
    if (over <= 0) continue;
    int32_t* w = t.weights + i * t.maxTaps;
    std::memmove(w + over, w, sizeof(int32_t) * t.count[i]);
    std::fill(w, w + over, 0);
    t.first[i] -= over;
    t.count[i] += over;
  }
  return t;
}

inline uint8_t clip8(int32_t v) {
  v = (v + (1 << (kBits - 1))) >> kBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One gray source row through the horizontal taps: dst[o]. K: the taps per output, made the
// same for all (zero weights) so the compiler unrolls the inner loops.
template <int C, int K>
void horizontalK(const uint8_t* src, const Taps& t, int outW, uint8_t* dst) {
  for (int o = 0; o < outW; o++) {
    const int32_t* w = t.weights + o * t.maxTaps;
    const uint8_t* s = src + t.first[o] * C;
    int32_t a[C] = {};
    for (int j = 0; j < K; j++) {
      for (int c = 0; c < C; c++) a[c] += w[j] * s[j * C + c];
    }
    for (int c = 0; c < C; c++) dst[o * C + c] = clip8(a[c]);
  }
}

// RGB rows with SSE2, two taps per pmaddwd: the 4 bytes at a pixel (its RGB and one byte of
// the next, whose lane is ignored) of taps j and j+1 interleaved as 16-bit (r0 r1 g0 g1 b0 b1
// x x) times (w0 w1) give the 4 channel sums at once (2.3 vs 5.3 ns a pixel for the plain
// loop, in isolation). Reads up to one pixel and a byte past the last tap: padding.
void horizontalRgb(const uint8_t* src, const Taps& t, int outW, uint8_t* dst) {
  const __m128i zero = _mm_setzero_si128();
  const int pairs = (t.taps + 1) / 2;
  for (int o = 0; o < outW; o++) {
    const int32_t* w = t.weights + o * t.maxTaps;
    const uint8_t* s = src + t.first[o] * 3;
    __m128i acc = _mm_set1_epi32(1 << (kBits - 1));
    for (int p = 0; p < pairs; p++, s += 6, w += 2) {
      int32_t a, b;
      std::memcpy(&a, s, 4);
      std::memcpy(&b, s + 3, 4);
      const __m128i px = _mm_unpacklo_epi8(_mm_unpacklo_epi8(_mm_cvtsi32_si128(a), _mm_cvtsi32_si128(b)), zero);
      const __m128i wp = _mm_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(w[0]) & 0xffff) | static_cast<uint32_t>(w[1]) << 16));
      acc = _mm_add_epi32(acc, _mm_madd_epi16(px, wp));
    }
    acc = _mm_srai_epi32(acc, kBits);
    const __m128i packed = _mm_packus_epi16(_mm_packs_epi32(acc, acc), zero);
    const int32_t v = _mm_cvtsi128_si32(packed);
    std::memcpy(dst + o * 3, &v, 3);
  }
}

// out[i] = sum_j w[j] * rows[j][i] for n bytes, with SSE2 as above (rows in pairs).
void verticalSse2(const uint8_t* first, size_t stride, const int32_t* w, int count, size_t n, uint8_t* out) {
  const __m128i zero = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i lo = _mm_set1_epi32(1 << (kBits - 1)), hi = lo;
    for (int j = 0; j < count; j += 2) {
      const uint8_t* a = first + j * stride + i;
      const uint8_t* b = j + 1 < count ? a + stride : a;
      const int32_t wb = j + 1 < count ? w[j + 1] : 0;
      const __m128i wp = _mm_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(w[j]) & 0xffff) | static_cast<uint32_t>(wb) << 16));
      const __m128i ab = _mm_unpacklo_epi8(_mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b))), zero);
      // ab as 16-bit: a0 b0 a1 b1 a2 b2 a3 b3 | a4 b4 ... : unpacklo_epi8 interleaved bytes a,b
      lo = _mm_add_epi32(lo, _mm_madd_epi16(ab, wp));
      const __m128i ab2 = _mm_unpackhi_epi8(_mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b))), zero);
      hi = _mm_add_epi32(hi, _mm_madd_epi16(ab2, wp));
    }
    const __m128i v = _mm_packus_epi16(_mm_packs_epi32(_mm_srai_epi32(lo, kBits), _mm_srai_epi32(hi, kBits)), zero);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), v);
  }
  for (; i < n; i++) {
    int32_t acc = 0;
    for (int j = 0; j < count; j++) acc += w[j] * first[j * stride + i];
    out[i] = clip8(acc);
  }
}

template <int C>
void horizontal(const uint8_t* src, const Taps& t, int outW, uint8_t* dst) {
  if (C == 3) return horizontalRgb(src, t, outW, dst);
  if (t.padded) switch (t.taps) {
    case 1: return horizontalK<C, 1>(src, t, outW, dst);
    case 2: return horizontalK<C, 2>(src, t, outW, dst);
    case 3: return horizontalK<C, 3>(src, t, outW, dst);
    case 4: return horizontalK<C, 4>(src, t, outW, dst);
    case 5: return horizontalK<C, 5>(src, t, outW, dst);
  }
  for (int o = 0; o < outW; o++) {
    const int32_t* w = t.weights + o * t.maxTaps;
    const uint8_t* s = src + t.first[o] * C;
    int32_t a[C] = {};
    for (int j = 0; j < t.count[o]; j++, s += C) {
      for (int c = 0; c < C; c++) a[c] += w[j] * s[c];
    }
    for (int c = 0; c < C; c++) dst[o * C + c] = clip8(a[c]);
  }
}

struct Region {
  double left, top, width, height;
  int outW, outH, channels;
  bool flipX, flipY, planar;
};

// Returns 1 done, 0 not handled (caller falls back), -1 error (message in dec.err.message).
// setjmp lives here and nothing with a destructor is created after it: a longjmp from libjpeg
// returns into this frame only, and every allocation is in libjpeg's pools.
int decodeRegion(Decoder& dec, const uint8_t* bytes, size_t n, const Region& r, uint8_t* out) {
  j_decompress_ptr cinfo = &dec.cinfo;
  if (setjmp(dec.err.jump)) return -1;
  jpeg_mem_src(cinfo, bytes, static_cast<unsigned long>(n));
  jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(cinfo, TRUE);
  if (!decodable(cinfo) || (r.channels == 1 && cinfo->num_components != 1)) return 0;
  const int W = static_cast<int>(cinfo->image_width), H = static_cast<int>(cinfo->image_height);
  if (r.left < 0 || r.top < 0 || r.width <= 0 || r.height <= 0 || r.left + r.width > W + 1e-6 || r.top + r.height > H + 1e-6) {
    std::snprintf(dec.err.message, sizeof dec.err.message, "region %gx%g at (%g, %g) is outside the %dx%d image", r.width, r.height, r.left, r.top, W, H);
    return -1;
  }
  // Smallest M with the scaled region still at least the output size (never below it).
  int m = static_cast<int>(std::max(std::ceil(8.0 * r.outW / r.width - 1e-9), std::ceil(8.0 * r.outH / r.height - 1e-9)));
  m = std::min(8, std::max(1, m));
  cinfo->scale_num = m;
  cinfo->scale_denom = 8;
  cinfo->out_color_space = r.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(cinfo);
  // The region in scaled pixels: the scaled image is ceil(W * m / 8) wide, pixel j covering
  // [j * 8 / m, (j + 1) * 8 / m) of the original.
  const double f = m / 8.0;
  const double sx = r.left * f, sy = r.top * f, sw = r.width * f, sh = r.height * f;
  const int SW = static_cast<int>(cinfo->output_width), SH = static_cast<int>(cinfo->output_height);
  const int x0 = std::max(0, static_cast<int>(std::floor(sx))), x1 = std::min(SW - 1, static_cast<int>(std::ceil(sx + sw)) - 1);
  const int y0 = std::max(0, static_cast<int>(std::floor(sy))), y1 = std::min(SH - 1, static_cast<int>(std::ceil(sy + sh)) - 1);
  const Taps cols = makeTaps(cinfo, sx, sw, r.outW, x0, x1);
  const Taps rows = makeTaps(cinfo, sy, sh, r.outH, y0, y1);
  // Columns: libjpeg widens the crop to iMCU boundaries; xoff is where the decoded row starts.
  JDIMENSION xoff = static_cast<JDIMENSION>(x0), cropW = static_cast<JDIMENSION>(x1 - x0 + 1);
  if (xoff > 0 || cropW < cinfo->output_width) jpeg_crop_scanline(cinfo, &xoff, &cropW);
  // Rows the vertical taps read.
  int r0 = y1, r1 = y0;
  for (int o = 0; o < r.outH; o++) {
    r0 = std::min(r0, rows.first[o]);
    r1 = std::max(r1, rows.first[o] + rows.count[o] - 1);
  }
  const int C = r.channels, outW = r.outW, outH = r.outH;
  const int nRows = r1 - r0 + 1;
  auto common = reinterpret_cast<j_common_ptr>(cinfo);
  // Horizontal pass as rows arrive: tmp[row - r0][x * C + c].
  const size_t rowLen = static_cast<size_t>(outW) * C;
  uint8_t* tmp = static_cast<uint8_t*>(cinfo->mem->alloc_large(common, JPOOL_IMAGE, nRows * rowLen));
  uint8_t* row = static_cast<uint8_t*>(cinfo->mem->alloc_large(common, JPOOL_IMAGE, rowLen));
  // Each row is copied out of libjpeg's buffer before the horizontal pass: its 4-byte loads at
  // odd offsets straight from the row libjpeg-turbo's SIMD code had just written stalled (perf:
  // ~60% of the resize on that one load; 1.0 -> 0.7 ms an image with the copy). Two pixels of
  // zeroed padding: the SSE2 pass reads up to a pixel and a byte past a tap.
  JSAMPARRAY line = (*cinfo->mem->alloc_sarray)(common, JPOOL_IMAGE, cinfo->output_width * C, 1);
  uint8_t* copy = static_cast<uint8_t*>(cinfo->mem->alloc_small(common, JPOOL_IMAGE, (cinfo->output_width + 2) * C));
  std::memset(copy + cinfo->output_width * C, 0, 2 * C);
  if (r0 > 0) jpeg_skip_scanlines(cinfo, static_cast<JDIMENSION>(r0));
  for (int y = r0; y <= r1; y++) {
    if (jpeg_read_scanlines(cinfo, line, 1) != 1) {
      std::snprintf(dec.err.message, sizeof dec.err.message, "decoder returned no row %d", y);
      return -1;
    }
    std::memcpy(copy, line[0], cinfo->output_width * C);
    const uint8_t* src = copy - static_cast<ptrdiff_t>(xoff) * C;  // indexable by scaled column
    uint8_t* t = tmp + static_cast<size_t>(y - r0) * rowLen;
    if (C == 3) horizontal<3>(src, cols, outW, t);
    else horizontal<1>(src, cols, outW, t);
  }
  // The rows below the region are never decoded: no jpeg_finish_decompress, the destructor's
  // jpeg_destroy_decompress drops the rest (jpeg_abort_decompress here would free the
  // JPOOL_IMAGE buffers still used below).
  // Vertical pass (a row at a time, contiguous so it vectorizes), then the flips and the
  // output layout folded into the rounding write.
  const size_t plane = static_cast<size_t>(outW) * outH;
  for (int o = 0; o < outH; o++) {
    const int32_t* w = rows.weights + o * rows.maxTaps;
    const uint8_t* t0 = tmp + static_cast<size_t>(rows.first[o] - r0) * rowLen;
    verticalSse2(t0, rowLen, w, rows.count[o], rowLen, row);
    const int oy = r.flipY ? outH - 1 - o : o;
    if (!r.planar || C == 1) {
      uint8_t* d = out + static_cast<size_t>(oy) * rowLen;
      if (!r.flipX) std::memcpy(d, row, rowLen);
      else for (int x = 0; x < outW; x++) std::memcpy(d + (outW - 1 - x) * C, row + x * C, C);
      continue;
    }
    for (int c = 0; c < C; c++) {
      uint8_t* d = out + c * plane + static_cast<size_t>(oy) * outW;
      if (r.flipX) for (int x = 0; x < outW; x++) d[outW - 1 - x] = row[x * C + c];
      else for (int x = 0; x < outW; x++) d[x] = row[x * C + c];
    }
  }
  return 1;
}

struct Info {
  int width, height, orientation, components;
  bool fast;
};

int readInfo(Decoder& dec, const uint8_t* bytes, size_t n, Info& info) {
  j_decompress_ptr cinfo = &dec.cinfo;
  if (setjmp(dec.err.jump)) return -1;
  jpeg_mem_src(cinfo, bytes, static_cast<unsigned long>(n));
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(cinfo, TRUE);
  info.width = static_cast<int>(cinfo->image_width);
  info.height = static_cast<int>(cinfo->image_height);
  info.components = cinfo->num_components;
  info.orientation = 1;
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      info.orientation = exifOrientation(m);
      break;  // the first Exif block counts (as in libvips)
    }
  }
  info.fast = decodable(cinfo);
  return 1;
}

Napi::Uint8Array bytesArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i + 1) + " must be a Uint8Array");
  }
  return info[i].As<Napi::Uint8Array>();
}

Napi::Value JpegInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArg(info, 0, "jpegInfo");
  if (!isJpeg(bytes.Data(), bytes.ByteLength())) return env.Null();
  Info i{};
  int rc;
  {
    Decoder dec(kNone);
    rc = readInfo(dec, bytes.Data(), bytes.ByteLength(), i);
  }
  if (rc != 1) return env.Null();  // a damaged header: the general decoder reports it
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", i.width);
  o.Set("height", i.height);
  o.Set("orientation", i.orientation);
  o.Set("components", i.components);
  o.Set("fast", i.fast);
  return o;
}

Napi::Value DecodeJpegRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 13) throw Napi::TypeError::New(env, "decodeJpegRegion: expected 13 arguments");
  Napi::Uint8Array bytes = bytesArg(info, 0, "decodeJpegRegion");
  Region r{};
  r.left = info[1].As<Napi::Number>().DoubleValue();
  r.top = info[2].As<Napi::Number>().DoubleValue();
  r.width = info[3].As<Napi::Number>().DoubleValue();
  r.height = info[4].As<Napi::Number>().DoubleValue();
  r.outW = info[5].As<Napi::Number>().Int32Value();
  r.outH = info[6].As<Napi::Number>().Int32Value();
  r.channels = info[7].As<Napi::Number>().Int32Value();
  r.flipX = info[8].ToBoolean();
  r.flipY = info[9].ToBoolean();
  r.planar = info[10].ToBoolean();
  const int failOn = info[11].As<Napi::Number>().Int32Value();
  Napi::Uint8Array out = bytesArg(info, 12, "decodeJpegRegion");
  if (r.outW < 1 || r.outH < 1 || (r.channels != 1 && r.channels != 3)) {
    throw Napi::RangeError::New(env, "decodeJpegRegion: output size must be positive and channels 1 or 3");
  }
  if (out.ByteLength() < static_cast<size_t>(r.outW) * r.outH * r.channels) {
    throw Napi::RangeError::New(env, "decodeJpegRegion: the output array is smaller than outWidth * outHeight * channels");
  }
  if (!isJpeg(bytes.Data(), bytes.ByteLength())) return Napi::Boolean::New(env, false);
  int rc;
  char message[JMSG_LENGTH_MAX];
  {
    Decoder dec(failOn);
    rc = decodeRegion(dec, bytes.Data(), bytes.ByteLength(), r, out.Data());
    std::memcpy(message, dec.err.message, sizeof message);
  }
  if (rc < 0) throw Napi::Error::New(env, message);
  return Napi::Boolean::New(env, rc == 1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("jpegInfo", Napi::Function::New(env, JpegInfo, "jpegInfo"));
  exports.Set("decodeJpegRegion", Napi::Function::New(env, DecodeJpegRegion, "decodeJpegRegion"));
  exports.Set("libjpegTurbo", Napi::String::New(env, STRINGIFY(LIBJPEG_TURBO_VERSION)));
  return exports;
}

}  // namespace

NODE_API_MODULE(dlkit_jpeg, Init)
