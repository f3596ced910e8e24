// What the zoo's architecture files share: a graph built layer by layer with its connections,
// the ImageNet input layer, and the numClasses / classes options.
import { Network, type Connection } from '../nn/network.js';
import type { Layer } from '../nn/layer.js';
import { imageInput } from '../nn/layers/input.js';
import { IMAGENET_NORMALIZATION, imagenetClasses } from './imagenet.js';

/** The options every ImageNet architecture takes. */
export interface ZooOptions {
  /** Default 1000 (or classes.length); the class names are ImageNet's when 1000, else '0', '1', …. */
  numClasses?: number;
  classes?: readonly string[];
  /**
   * [height, width] of the input images (one number: square); default the size the weights were
   * trained at. Networks with global or adaptive pooling before their classifier take any size
   * their convolutions fit (the error names the layer that does not).
   */
  imageSize?: number | readonly [number, number];
}

/** The input's [height, width] from the options, checked. */
export function resolveImageSize(what: string, options: ZooOptions = {}, fallback: number): [number, number] {
  const v = options.imageSize ?? fallback;
  const hw = typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  if (hw.length !== 2 || hw.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`${what}: option 'imageSize' must be a positive integer or [height, width], got ${JSON.stringify(options.imageSize)}`);
  }
  return hw as [number, number];
}

/** numClasses and class names from the options, checked; `what` names the architecture in errors. */
export function resolveClasses(what: string, options: ZooOptions = {}, imagenet = true): { numClasses: number; classes: readonly string[] } {
  const numClasses = options.numClasses ?? options.classes?.length ?? 1000;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`${what}: option 'numClasses' must be a positive integer, got ${JSON.stringify(options.numClasses)}`);
  if (options.classes && options.classes.length !== numClasses) {
    throw new RangeError(`${what}: option 'classes' has ${options.classes.length} names, numClasses is ${numClasses}`);
  }
  const classes = options.classes ?? (numClasses === 1000 && imagenet ? imagenetClasses() : Array.from({ length: numClasses }, (_, i) => String(i)));
  return { numClasses, classes };
}

/**
 * The input layer 'input' of torchvision's classifiers: 0–255 RGB pixels [3, height, width],
 * normalized as their weights expect: zscore with mean and std scaled by 255,
 * (x − 255·m) / (255·s) = (x/255 − m) / s.
 */
export function imagenetInput([height, width]: readonly [number, number], normalization: { mean: readonly number[]; std: readonly number[] } = IMAGENET_NORMALIZATION): Layer {
  return imageInput({
    name: 'input', inputSize: [3, height, width], normalization: 'zscore',
    mean: normalization.mean.map((m) => m * 255), std: normalization.std.map((s) => s * 255),
  });
}

/** Layers and connections in the order they are added; `add` returns the layer's name. */
export class GraphBuilder {
  readonly layers: Layer[] = [];
  readonly connections: Connection[] = [];

  constructor(input: Layer) {
    this.layers.push(input);
  }

  add(layer: Layer, from: string | readonly string[]): string {
    this.layers.push(layer);
    for (const f of typeof from === 'string' ? [from] : from) this.connections.push([f, layer.name]);
    return layer.name;
  }

  /** Layers in a chain from `from`; returns the last one's name. */
  chain(from: string, ...layers: Layer[]): string {
    let last = from;
    for (const l of layers) last = this.add(l, last);
    return last;
  }

  network(output: string, classes: readonly string[]): Network {
    return Network.graph({ layers: this.layers, connections: this.connections, outputs: [output], classes });
  }
}
