// A colour classifier with set weights — the mean of each channel decides the class (red, green,
// blue) — for the serving tests: labels everyone can predict, with no training and no shared/.
import * as dl from '../../src/index.js';
import { Network, nn } from '../../src/index.js';

/** Input [3, size, size] pixels 0–255; logits 12 × the channel means in 0–1. */
export function colourNet(size = 16): Network {
  const net = Network.series([
    nn.imageInput({ name: 'input', inputSize: [3, size, size], normalization: 'rescale-zero-one' }),
    nn.globalAvgPool2d({ name: 'pool' }), nn.flatten({ name: 'flat' }), nn.fullyConnected({ name: 'fc', outputSize: 3 }),
  ], { classes: ['red', 'green', 'blue'] });
  const values = { 'fc.weight': dl.eye(3).mul(12), 'fc.bias': dl.zeros([3]) };
  net.loadStateDict(values, { strict: false });
  dl.dispose(Object.values(values));
  return net;
}
