// ImageNet-1k: the class names (data/imagenet-classes.txt at the package root, written from
// torchvision's list by scripts/make-imagenet-classes.py) and the input statistics torchvision's
// pretrained classifiers were trained with.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** torchvision's Normalize(mean, std) on pixels scaled to [0, 1] (RGB). */
export const IMAGENET_NORMALIZATION = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

const CLASSES_FILE = path.join('data', 'imagenet-classes.txt');
let cached: readonly string[] | null = null;

/**
 * Where data/imagenet-classes.txt is: the first directory above this module that holds it (the
 * package root, from dist/src/zoo/ or src/zoo/).
 */
export function imagenetClassesFile(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, CLASSES_FILE);
    if (existsSync(file)) return file;
    if (path.dirname(dir) === dir) throw new Error(`imagenetClasses: ${CLASSES_FILE} not found in any directory above ${start} (the package ships it at its root)`);
  }
}

/** The 1,000 ImageNet-1k class names in the output order of torchvision's (and BVLC's) classifiers. */
export function imagenetClasses(): readonly string[] {
  if (cached) return cached;
  const file = imagenetClassesFile();
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== 1000 || lines.some((l) => l.trim() === '' || l !== l.trim())) {
    throw new Error(`${file}: expected 1000 non-empty class names, one per line, got ${lines.length} lines`);
  }
  cached = Object.freeze(lines);
  return cached;
}
