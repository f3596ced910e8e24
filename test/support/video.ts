// Videos made from photos, for the tests of `dlkit live` and the webcam page's fake camera.
//
// Geometry: each photo is stretched to exactly width × height (sharp's fit 'fill', after its EXIF
// rotation), not letterboxed. The classifiers resize with 'fill' too (`readImage`, the model
// service), so a frame stretched to the model's input is the photo stretched to the input, up to
// the video codec's loss: the labels for a photo's frames can be compared with the photo's own.
// Frames are raw RGB written to ffmpeg's stdin at the output rate, so each photo lasts exactly
// round(secondsEach × fps) frames, whatever ffmpeg's image-sequence timing would do.
import { spawn } from 'node:child_process';
import sharp from 'sharp';

export interface VideoFromPhotosOptions {
  width?: number;
  height?: number;
  secondsEach?: number;
  fps?: number;
}

/**
 * Writes `file`: the photos one after another, each shown for `secondsEach` seconds. The format
 * follows the extension: `.mp4`/`.mkv`/`.mov` H.264 (libx264, yuv420p), `.y4m` raw YUV 4:2:0
 * (what Chromium's fake camera plays), anything else as ffmpeg chooses. Returns the frames per photo.
 */
export async function videoFromPhotos(photos: readonly string[], file: string, { width = 320, height = 240, secondsEach = 1, fps = 10 }: VideoFromPhotosOptions = {}): Promise<{ framesPerPhoto: number; frames: number }> {
  if (photos.length === 0) throw new Error('videoFromPhotos: no photos');
  const framesPerPhoto = Math.max(1, Math.round(secondsEach * fps));
  const codec = /\.(mp4|mkv|mov)$/i.test(file) ? ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p']
    : /\.y4m$/i.test(file) ? ['-pix_fmt', 'yuv420p'] : [];
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0', ...codec, file], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg could not write ${file} (exit code ${code}): ${stderr.trim()}`))));
  });
  const write = (b: Buffer) => new Promise<void>((resolve, reject) => child.stdin.write(b, (err) => (err ? reject(err) : resolve())));
  try {
    for (const photo of photos) {
      const rgb = await sharp(photo).rotate().resize(width, height, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
      for (let i = 0; i < framesPerPhoto; i++) await write(rgb);
    }
  } finally {
    child.stdin.end();
  }
  await done;
  return { framesPerPhoto, frames: framesPerPhoto * photos.length };
}
