// dlkit's side of `npm run bench -- serve` before the load: writes the two served models as dlkit
// model files. `cnn`: the default preset's CIFAR-10 network (untrained weights — serving speed
// does not depend on them — with CIFAR-10's channel statistics in its input layer); `resnet18`:
// torchvision's ResNet-18 from the seeded .pth file the Python server also loads.
//   node dist/bench/serve-model.js --out DIR --resnet18-pth FILE
import path from 'node:path';
import * as dl from '../src/index.js';
import { parseOptions } from './common.js';

const { opts } = parseOptions(process.argv.slice(2));
const out = opts.get('out')?.at(-1);
const pth = opts.get('resnet18-pth')?.at(-1);
if (!out || !pth) throw new Error('usage: serve-model.js --out DIR --resnet18-pth FILE');

dl.manualSeed(0);
const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const cnn = dl.preset('default').network([3, 32, 32], classes);
for (const l of cnn.inputLayers) if (l instanceof dl.nn.ImageInput) l.setStatistics([125.3, 123.0, 113.9], [63.0, 62.1, 66.7]);
await dl.saveModel(cnn, path.join(out, 'cnn.safetensors'));
cnn.dispose();
const resnet = await dl.pretrained('resnet18', { weights: pth });
await dl.saveModel(resnet, path.join(out, 'resnet18.safetensors'));
resnet.dispose();
console.log(JSON.stringify({ cnn: path.join(out, 'cnn.safetensors'), resnet18: path.join(out, 'resnet18.safetensors') }));
