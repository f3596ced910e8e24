#!/usr/bin/env node
// The dlkit command line: parses, validates, calls the library; no logic of its own.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import path from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import * as dl from '../index.js';
import { serveCommand } from './serve.js';
import { downloadProgress } from './download-progress.js';
import { liveCommand } from './live.js';
import { detectCommand } from './detect.js';

const USAGE = `usage: dlkit <command> [options]

commands:
  train [fashion-mnist | <IDX folder>]   train a CNN from scratch and evaluate it on the test split
  train <image folder> --input-size H,W    … on <folder>/<class>/<image> (or <folder>/{train,test}/<class>/…),
                                           or a folder of CIFAR-10 .bin files
      --preset quick|default|best   network and recipe (default: default)
      --epochs N  --batch-size N  --lr X  --solver sgdm|adam|adamw|rmsprop
      --schedule none|piecewise|cosine|one-cycle  --seed N  --label-smoothing X
      --validation-fraction F       hold out this fraction of the training data for validation
      --out FILE                    model file (default: out/<data>/model.safetensors)
      --plots                       live training-progress chart in the browser, saved as PNG/HTML
      --checkpoint-dir DIR          checkpoint every epoch (Ctrl-C always writes one)
      --resume FILE                 continue from a checkpoint
      --limit N  --test-limit N     use only the first N training / test observations
      --quiet                       no progress table
      --input-size H,W              image folders: resize every image to H×W (required for them)
      --channels 1|3                image folders: grayscale or RGB (default 3)
      --precision auto|float32|bfloat16-mixed   arithmetic of training (presets: auto = bfloat16
                                    convolutions where the CPU has bfloat16 instructions)
      --augment LIST|none           images: random transforms, e.g. flip,rotate:15,crop,jitter
                                    (also flipv, resized-crop, scale, shear, translate, erase);
                                    none: not even the preset's
      --strict                      image folders: stop at the first unusable image (default: skip it, list it)
      --tta none|reflectX           test-time augmentation saved with the model: reflectX averages the
                                    predictions for each image and its mirror image (default: the
                                    preset's, when its augmentation is used: best has reflectX)
  classify <model> <image files…> [--top K] [--tta none|reflectX]   top-K labels with scores for each image
  evaluate <model> <data> [--out-dir DIR] [--tta none|reflectX]     accuracy, per-class table, confusion matrix,
                                              misclassified grid (--tta: instead of the model's own)
  import <model.onnx | deploy.prototxt weights.caffemodel | checkpoint.pth | scripted.pt>
      --out FILE                    write a dlkit model file (.safetensors); without it, print the summary
      --classes FILE                class names, one per line, in output order
      --arch NAME                   PyTorch checkpoints: the architecture to load the state dict into
                                    (resnet18, vgg16, … or cifar-resnet20|32|44|56|110: see zoo list);
                                    without it, --out writes the tensors
      --key K  --strip-prefix P     checkpoints: the entry holding the state dict; a prefix to drop
                                    (default: 'module.' when every name has it)
      --input-size C,H,W | NAME=D,D,…   one observation's shape where the file leaves it open (ONNX: by input name)
      --mean A,B,C | --mean mean.binaryproto  --std A,B,C  --scale X  --bgr
                                    preprocessing kept outside the model file, stored in the model:
                                    pixels (0-255) become (bgr(x) - mean) / std * scale (Caffe: no --std)
  export <model> --onnx FILE [--opset N]      write the network as ONNX (checked by onnxruntime)
  zoo list                                    the pretrained models: size, license, source, cached or not
  zoo get <name>…                             download weights into the cache (DLKIT_HOME, default ~/.cache/dlkit)
  transfer <zoo name | model file> <image folder>   fine-tune for the folder's classes (a new head), evaluate
                                    on its test split when it has one
      --out FILE  --input-size H,W  (default: the network's)  --epochs N  --batch-size N  --lr X  --seed N
      --freeze none|backbone  --head LAYER  --head-lr-factor X  --augment LIST|none (default flip)
      --weights FILE                zoo models: a local weight file instead of the cache
  features <zoo name | model file> <image folder> --layer NAME   activations of a layer, one row per image
      --pooling none|avg|max        pool each channel first (default none: flattened)
      --out FILE                    the features (.safetensors), or with --svm the classifier model
      --svm [--kernel rbf|linear] [--c X] [--gamma X|scale|auto]   fit an SVM on them: the model
                                    (network up to the layer + SVM) works with classify and evaluate
  serve <zoo name | model file>… [--port N] [--host H] [--token T]   HTTP inference server + webcam page at /
      --max-batch N --max-delay-ms N --queue N --timeout-ms N   dynamic batching, bounded queue, per-request limit
      --cors ORIGIN,…  --top K  --name NAME  --weights FILE  (token also from DLKIT_TOKEN; SIGTERM drains)
  live <zoo name | model file> [--camera /dev/video0 | --source video.mp4] [--top K] [--fps N]
                                              frames through ffmpeg, classified as they come, on one line
  detect train <VOC folder | COCO .json | YOLO folder> --out FILE   train an object detector (from scratch,
                                    or on --backbone MODEL --feature-layer LAYER); trainval split by default
      --input-size H,W  (default: the images' aspect, longer side 320)  --epochs N  --batch-size N  --lr X
      --seed N  --augment default|none  --validation-split NAME  --width N  --checkpoint-dir DIR  --resume FILE
      --split NAME  --images DIR (COCO)  --classes A,B,… (YOLO)  --strict  --quiet
  detect <detector> <images…> [--out DIR] [--threshold X] [--nms-iou X] [--json FILE]
                                    boxes, labels and scores per image; --out: each image with its boxes drawn
  detect evaluate <detector> <data> [--split NAME] [--report-dir DIR]   mAP@0.5 (VOC all-point), COCO mAP,
                                    per-class AP; precision-recall chart (test split by default)
  summary <model>                             the network's layer table
  demo                                        train on Fashion-MNIST with the default preset
  info                                        libtorch, threads, devices and memory`;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals: [number, number]) {
  let r;
  try {
    r = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [min, max] = positionals;
  if (r.positionals.length < min) throw new UsageError(`missing argument${min - r.positionals.length > 1 ? 's' : ''}`);
  if (r.positionals.length > max) throw new UsageError(`unexpected argument '${r.positionals[max]}'`);
  return r;
}

/** A flag whose value is one of `choices`. */
function choice<T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value !== undefined && !(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T | undefined;
}

function num(value: string | undefined, flag: string, { integer = false, min = -Infinity, max = Infinity } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`--${flag} must be ${integer ? 'a whole number' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got '${value}'`);
  }
  return n;
}

function firstN(data: dl.Datastore, n: number | undefined): dl.Datastore {
  if (n === undefined || n >= data.size) return data;
  return data.subset(Array.from({ length: n }, (_, i) => i));
}

async function observation(data: dl.Datastore, index: number): Promise<dl.Tensor> {
  for await (const { x, y } of data.subset([index]).batches({ batchSize: 1 })) {
    y?.dispose();
    const one = x.select(0, 0);
    x.dispose();
    return one;
  }
  throw new Error(`observation ${index} not found`);
}

async function report(network: dl.Network, test: dl.Datastore, dir: string): Promise<dl.Evaluation> {
  const e = await dl.evaluate(network, test);
  await dl.saveConfusionChart(e, path.join(dir, 'confusion-matrix'));
  await dl.saveMisclassifiedGrid(e, (i) => observation(test, i), path.join(dir, 'misclassified.png'));
  return e;
}

/** --input-size, --channels and --strict as openDatastore options (they matter for image folders only). */
function imageFlags(v: { 'input-size'?: string; channels?: string; strict?: boolean }): dl.OpenOptions {
  const size = v['input-size']?.split(/[,x]/).map((d) => Number(d.trim()));
  if (size && (size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 1))) throw new UsageError(`--input-size must be H,W (whole numbers >= 1), got '${v['input-size']}'`);
  const channels = num(v.channels, 'channels', { integer: true, min: 1, max: 3 });
  if (channels === 2) throw new UsageError("--channels must be 1 or 3, got '2'");
  return { ...(size && { inputSize: size }), ...(channels && { channels: channels as 1 | 3 }), strict: v.strict ?? false };
}

/** The output size [H, W] of images that can be augmented, or null (not images, or no fixed size). */
function augmentableSize(data: dl.Datastore): [number, number] | null {
  if (data instanceof dl.ImageDatastore) return data.outputSize ? [data.outputSize[0], data.outputSize[1]] : null;
  if (data instanceof dl.TensorDatastore && data.inputShape.length === 3 && data.storedDType === 'uint8') return [data.inputShape[1]!, data.inputShape[2]!];
  return null;
}

/**
 * The training images through random transforms: --augment's list, else the preset's own
 * (when the data are images). `--augment none` turns the preset's off.
 */
function augmented(data: dl.Datastore, list: string | undefined, recipe: dl.Preset): dl.Datastore {
  const size = augmentableSize(data);
  if (!size) {
    if (list !== undefined && list !== 'none') throw new UsageError(`--augment applies to images (folders of images, Fashion-MNIST, 8-bit in-memory images); ${data.source} is not images`);
    return data;
  }
  let options: dl.ImageAugmenterOptions | undefined;
  try {
    options = dl.presetAugmentation(recipe, list, size, data.size);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!options) return data;
  if (list === undefined) console.log(`augmentation (preset): ${dl.describeAugmenter(options)}`);
  return data instanceof dl.ImageDatastore ? dl.augmentedImageDatastore(size, data, options) : dl.augmentedImageDatastore(size, data as dl.TensorDatastore, options);
}

/** Evaluation pairs labels with predictions one to one: leave out the images that cannot be read (listed). */
async function withoutBadFiles(data: dl.Datastore): Promise<dl.Datastore> {
  if (!(data instanceof dl.ImageDatastore)) return data;
  const { good, bad } = await data.scan();
  for (const b of bad) console.warn(`skipping ${b.file}: ${b.message}`);
  return good;
}

function imagePipelineReport(data: dl.Datastore): void {
  const d = data as Partial<dl.ImageDatastore>;
  if (!d.pipelineStats) return;
  const s = d.pipelineStats;
  console.log(`image pipeline, last epoch: ${s.imagesPerSecond.toFixed(0)} images/s, ${s.decoded} decoded (the rest from memory), ${s.workers} worker thread${s.workers === 1 ? '' : 's'}, the trainer waited ${s.waitSeconds.toFixed(1)} s for data`);
  const bad = d.badFiles ?? [];
  if (bad.length) console.log(`${bad.length} file${bad.length > 1 ? 's' : ''} skipped:\n${bad.map((b) => `  ${b.file}: ${b.message}`).join('\n')}`);
}

async function train(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    preset: { type: 'string', default: 'default' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' },
    solver: { type: 'string' }, schedule: { type: 'string' }, seed: { type: 'string' }, 'label-smoothing': { type: 'string' },
    'validation-fraction': { type: 'string' }, out: { type: 'string' }, plots: { type: 'boolean', default: false },
    'checkpoint-dir': { type: 'string' }, resume: { type: 'string' }, limit: { type: 'string' }, 'test-limit': { type: 'string' },
    quiet: { type: 'boolean', default: false },
    'input-size': { type: 'string' }, channels: { type: 'string' }, augment: { type: 'string' }, strict: { type: 'boolean', default: false },
    precision: { type: 'string' }, tta: { type: 'string' },
  }, [0, 1]);
  const dataSpec = positionals[0] ?? 'fashion-mnist';
  if (!(dl.PRESETS as readonly string[]).includes(v.preset!)) throw new UsageError(`--preset must be one of ${dl.PRESETS.join(', ')}, got '${v.preset}'`);
  const recipe = dl.preset(v.preset!);
  // Every flag is checked before the data is read: a typo fails at once, with the usage.
  const positive = (n: number, flag: string): number => {
    if (n <= 0) throw new UsageError(`--${flag} must be a number > 0, got '${v[flag as 'lr']}'`);
    return n;
  };
  const overrides: dl.TrainingOptionsInput = {
    ...(v.epochs !== undefined && { maxEpochs: num(v.epochs, 'epochs', { integer: true, min: 1 }) }),
    ...(v['batch-size'] !== undefined && { miniBatchSize: num(v['batch-size'], 'batch-size', { integer: true, min: 1 }) }),
    ...(v.lr !== undefined && { initialLearnRate: positive(num(v.lr, 'lr', { min: 0 })!, 'lr') }),
    ...(v.solver !== undefined && { solver: choice(v.solver, 'solver', ['sgdm', 'adam', 'adamw', 'rmsprop'] as const) }),
    ...(v.schedule !== undefined && { learnRateSchedule: choice(v.schedule, 'schedule', ['none', 'piecewise', 'cosine', 'one-cycle'] as const) }),
    ...(v.seed !== undefined && { seed: num(v.seed, 'seed', { integer: true, min: 0 }) }),
    ...(v['label-smoothing'] !== undefined && { labelSmoothing: num(v['label-smoothing'], 'label-smoothing', { min: 0, max: 1 }) }),
    ...(v.precision !== undefined && { precision: choice(v.precision, 'precision', ['auto', 'float32', 'bfloat16-mixed'] as const) }),
  };
  const tta = choice(v.tta, 'tta', dl.TEST_TIME_AUGMENTATIONS);
  const limit = num(v.limit, 'limit', { integer: true, min: 1 });
  const testLimit = num(v['test-limit'], 'test-limit', { integer: true, min: 1 });
  const fraction = num(v['validation-fraction'], 'validation-fraction', { min: 0, max: 0.9 });
  const name = dataSpec === 'fashion-mnist' ? 'fashion-mnist' : path.basename(path.resolve(dataSpec));
  const out = v.out ?? path.join('out', name, 'model.safetensors');
  const outDir = path.dirname(out);

  const images = imageFlags(v);
  let trainData = firstN(await dl.openDatastore(dataSpec, 'train', images), limit);
  for (const w of (trainData as Partial<dl.ImageDatastore>).warnings ?? []) console.warn(`warning: ${w}`);
  let validationData: dl.Datastore | undefined;
  if (fraction) [validationData, trainData] = trainData.split(fraction, { seed: 0 });
  const noun = augmentableSize(trainData) ? 'training images' : 'training observations';
  const withAugmentation = augmented(trainData, v.augment, recipe);
  const presetAugmentation = withAugmentation !== trainData && v.augment === undefined;
  trainData = withAugmentation;
  let testData: dl.Datastore | null = null;
  try {
    testData = firstN(await dl.openDatastore(dataSpec, 'test', { ...images, classes: trainData.classes ?? undefined }), testLimit);
    if (testData.source === trainData.source) {
      console.log(`no separate test split in ${dataSpec} (one folder of class folders): skipping the test evaluation (use --validation-fraction, or a folder with train/ and test/ subfolders)`);
      testData = null;
    } else testData = await withoutBadFiles(testData);
  } catch (err) {
    console.log(`no test split (${(err as Error).message}): skipping the test evaluation`);
  }
  const classes = trainData.classes;
  if (!classes) throw new Error(`${dataSpec}: the training data has no labels`);
  console.log(`data: ${trainData.size} training observations of shape [${trainData.inputShape.join(', ')}], ${classes.length} classes (${trainData.source})${validationData ? `, ${validationData.size} held out for validation` : ''}${testData ? `, ${testData.size} test` : ''}`);
  const precision = dl.resolvePrecision(overrides.precision ?? recipe.options.precision ?? 'float32', 'cpu');
  console.log(`preset '${v.preset}': ${recipe.description}; ${dl.getNumThreads()} threads, ${precision === 'float32' ? 'float32' : 'bfloat16 convolutions (mixed precision)'}`);
  if (overrides.seed !== undefined) dl.manualSeed(overrides.seed); // --seed also fixes the initial weights
  // The preset's test-time mirror images go with its training flips: not without them.
  const ttaUsed = tta ?? (presetAugmentation ? recipe.testTimeAugmentation : undefined) ?? 'none';
  const network = setTestTimeAugmentation(recipe.network(trainData.inputShape, classes), ttaUsed, '');
  if (!v.quiet) console.log(network.summary());
  // Made once the data are open (a typo in the data path leaves no empty folder behind), before training.
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    network.dispose();
    throw new Error(`cannot create the folder for the model and the report, ${outDir}: ${(err as Error).message}`);
  }
  // The preset's batch, rate and epochs fitted to the data's size (the user's flags win; a given batch gets the scaled rate).
  const fitted = dl.fitPresetToData(recipe, trainData.size, overrides, { noun });
  for (const line of fitted.lines) console.log(line);
  const options: dl.TrainingOptionsInput = {
    ...fitted.options,
    ...(validationData && { validationData, validationFrequency: Math.max(1, Math.floor(trainData.size / fitted.batch.miniBatchSize)) }),
    ...(v['checkpoint-dir'] !== undefined && { checkpointPath: v['checkpoint-dir'] }),
    ...(v.resume !== undefined && { resume: v.resume }),
    plots: v.plots ? 'training-progress' : 'none',
    reportPath: outDir,
    verbose: !v.quiet,
    verboseFrequency: 100,
    // The progress output prints warnings when verbose; --quiet still shows them.
    ...(v.quiet && { onWarning: (w: dl.TrainingWarning) => console.warn(`warning: ${w.message}`) }),
  };
  const started = performance.now();
  const { history } = await dl.trainNetwork(trainData, network, options);
  const trainSeconds = (performance.now() - started) / 1000;
  await dl.saveModel(network, out);
  console.log(`trained ${history.training.length} iterations in ${trainSeconds.toFixed(1)} s (${history.stoppedBy})`);
  imagePipelineReport(trainData);
  if (testData) {
    const e = await report(network, testData, outDir);
    console.log(`test accuracy: ${e.accuracy.toFixed(4)}`);
  }
  console.log(`model: ${out}`);
  console.log(`report: ${path.join(outDir, 'confusion-matrix.png')}, ${path.join(outDir, 'misclassified.png')}${v.plots ? `, ${path.join(outDir, 'training-progress.png')}` : ''}`);
  network.dispose();
  return history.stoppedBy === 'interrupted' ? 130 : 0;
}

/** Sets --tta's choice on a network; one it does not fit (not an image network) is a usage error. */
function setTestTimeAugmentation(network: dl.Network, tta: dl.TestTimeAugmentation, what: string): dl.Network {
  try {
    network.testTimeAugmentation = tta;
  } catch (err) {
    network.dispose();
    throw new UsageError(`--tta: ${what}${(err as Error).message}`);
  }
  return network;
}

/** A saved model, with --tta instead of its own test-time augmentation when given. */
async function loadForInference(modelFile: string, tta: dl.TestTimeAugmentation | undefined): Promise<dl.Network> {
  if (await dl.isDetectorFile(modelFile)) throw new UsageError(`${modelFile} is an object detector, not a classifier: use dlkit detect ${modelFile} <images…>, or dlkit detect evaluate ${modelFile} <data>`);
  const network = await dl.loadModel(modelFile);
  return tta ? setTestTimeAugmentation(network, tta, `${modelFile}: `) : network;
}

async function classify(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, { top: { type: 'string', default: '3' }, tta: { type: 'string' } }, [2, Infinity]);
  const [modelFile, ...files] = positionals as [string, ...string[]];
  const k = num(v.top, 'top', { integer: true, min: 1 })!;
  const network = await loadForInference(modelFile, choice(v.tta, 'tta', dl.TEST_TIME_AUGMENTATIONS));
  const size = network.inputShape;
  const classes = network.classes ?? [];
  let failed = 0;
  for (const file of files) {
    let x: dl.Tensor;
    try {
      x = await readAsBatch(file, size);
    } catch (err) {
      console.error(`${(err as Error).message}`);
      failed++;
      continue;
    }
    const { scores } = await dl.classify(network, x);
    const [top] = dl.topK(scores, classes, k);
    console.log(`${file}: ${top!.map((t) => `${t.label} (${t.score.toFixed(3)})`).join(', ')}`);
    dl.dispose([x, scores]);
  }
  network.dispose();
  return failed ? 1 : 0;
}

async function readAsBatch(file: string, size: readonly number[]): Promise<dl.Tensor> {
  const img = await dl.readImage(file, { size });
  const x = img.unsqueeze(0);
  img.dispose();
  return x;
}

async function evaluateCmd(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, { 'out-dir': { type: 'string' }, limit: { type: 'string' }, tta: { type: 'string' } }, [2, 2]);
  const [modelFile, dataSpec] = positionals as [string, string];
  const network = await loadForInference(modelFile, choice(v.tta, 'tta', dl.TEST_TIME_AUGMENTATIONS));
  const opened = await dl.openDatastore(dataSpec, 'test', { inputSize: network.inputShape, classes: network.classes ?? undefined });
  const data = await withoutBadFiles(firstN(opened, num(v.limit, 'limit', { integer: true, min: 1 })));
  const dir = v['out-dir'] ?? path.dirname(modelFile);
  mkdirSync(dir, { recursive: true });
  const e = await report(network, data, dir);
  console.log(dl.formatEvaluation(e));
  console.log(`confusion matrix: ${path.join(dir, 'confusion-matrix.png')} (and .html); misclassified: ${path.join(dir, 'misclassified.png')}`);
  network.dispose();
  return 0;
}

async function importCmd(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    out: { type: 'string' }, classes: { type: 'string' }, 'input-size': { type: 'string', multiple: true },
    scale: { type: 'string' }, mean: { type: 'string' }, std: { type: 'string' }, bgr: { type: 'boolean' },
    arch: { type: 'string' }, key: { type: 'string' }, 'strip-prefix': { type: 'string' },
  }, [1, 2]);
  const inputSizes: Record<string, number[]> = {};
  let inputSize: number[] | undefined;
  const dims = (text: string, spec: string) => {
    const d = text.split(',').map(Number);
    if (d.some((x) => !Number.isInteger(x) || x < 1)) throw new UsageError(`--input-size must be D,D,… or NAME=D,D,… of positive whole numbers, got '${spec}'`);
    return d;
  };
  for (const spec of v['input-size'] ?? []) {
    const m = /^(.+)=([^=]+)$/.exec(spec);
    if (m) inputSizes[m[1]!] = dims(m[2]!, spec);
    else inputSize = dims(spec, spec);
  }
  const meanIsFile = v.mean !== undefined && !/^[-\d.,\s]+$/.test(v.mean);
  const mean = v.mean !== undefined && !meanIsFile ? v.mean.split(',').map((x) => num(x.trim(), 'mean')!) : undefined;
  const classes = v.classes ? readFileSync(v.classes, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean) : undefined;
  const imported = await dl.importModel(positionals, {
    classes, inputSizes, inputSize, scale: num(v.scale, 'scale'), mean, meanFile: meanIsFile ? v.mean : undefined, bgr: v.bgr,
    std: v.std?.split(',').map((x) => num(x.trim(), 'std', { min: Number.MIN_VALUE })!),
    arch: v.arch, key: v.key, stripPrefix: v['strip-prefix'],
  });
  if (imported.format === 'state-dict') {
    const entries = Object.entries(imported.tensors);
    console.log(`${positionals[0]}: a state dict${imported.key ? ` (under '${imported.key}')` : ''} of ${entries.length} tensors:`);
    for (const [name, t] of entries) console.log(`  ${name}  [${t.shape.join(', ')}] ${t.dtype}`);
    for (const [k, x] of Object.entries(imported.extras)) console.log(`  (also ${k}: ${JSON.stringify(x)})`);
    for (const s of imported.skipped) console.log(`  (not a tensor: ${s.name}, ${s.what})`);
    if (v.out) {
      await dl.saveSafetensors(v.out, imported.tensors);
      console.log(`wrote the tensors to ${v.out} (a state dict, not a network: give --arch to make a dlkit model)`);
    }
    dl.dispose(imported.tensors);
    return 0;
  }
  if (imported.format === 'torchscript') {
    console.log(String(imported.module));
    if (v.out) {
      const weights = imported.module.stateDict();
      await dl.saveSafetensors(v.out, weights);
      dl.dispose(weights);
      console.log(`wrote the module's weights (a TorchScript module is code, not a dlkit network: run it with loadTorchScript) to ${v.out}`);
    }
    imported.module.dispose();
    return 0;
  }
  const network = imported.network;
  console.log(network.summary());
  if (v.out) {
    await dl.saveModel(network, v.out);
    console.log(`wrote ${v.out}`);
  }
  network.dispose();
  return 0;
}

async function exportCmd(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, { onnx: { type: 'string' }, opset: { type: 'string' } }, [1, 1]);
  if (!v.onnx) throw new UsageError('--onnx FILE is required');
  const network = await dl.loadModel(positionals[0]!);
  try {
    await dl.exportONNX(network, v.onnx, { opset: num(v.opset, 'opset', { integer: true }) });
  } finally {
    network.dispose();
  }
  console.log(`wrote ${v.onnx}`);
  return 0;
}

/** The network to start from: a zoo name (downloading its weights when needed), a model file, or files to import. */
async function startingNetwork(spec: string, weights: string | undefined): Promise<dl.Network> {
  return dl.openNetwork(spec, { ...(weights && { weights }), onProgress: downloadProgress(`downloading ${spec}`) });
}

async function zooCmd(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') {
    parse(rest, {}, [0, 0]);
    const rows = dl.zooList().map((e) => [
      e.name, e.size !== null ? `${(e.size / 2 ** 20).toFixed(1)} MiB` : e.sizeMiB !== null ? `${e.sizeMiB.toFixed(1)} MiB` : 'unknown', e.cached ? 'cached' : '-', e.license, e.source,
    ]);
    const head = ['name', 'size', 'cached', 'license', 'source'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    for (const r of [head, ...rows]) console.log(r.map((x, c) => (c === 1 ? x.padStart(widths[c]!) : x.padEnd(widths[c]!))).join('  ').trimEnd());
    console.log(`cache: ${dl.weightsDir()} (set DLKIT_HOME to move it)`);
    return 0;
  }
  if (sub === 'get') {
    const { positionals } = parse(rest, {}, [1, Infinity]);
    for (const name of positionals) {
      const r = await dl.zooGet(name, { onProgress: downloadProgress(`downloading ${name}`) });
      console.log(`${name}: ${r.file}${r.downloaded ? ' (downloaded, verified)' : ' (cached)'}`);
    }
    return 0;
  }
  throw new UsageError(sub ? `unknown zoo command '${sub}': use 'zoo list' or 'zoo get <name>'` : "missing zoo command: 'zoo list' or 'zoo get <name>'");
}

/** --input-size H,W for commands that start from a network: its own size when absent. */
function imageSizeFlag(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const d = text.split(/[,x]/).map((x) => Number(x.trim()));
  if (d.length !== 2 || !d.every((x) => Number.isInteger(x) && x >= 1)) throw new UsageError(`--input-size must be H,W (whole numbers >= 1), got '${text}'`);
  return [d[0]!, d[1]!];
}

/** The folder's test (or val) split with the training split's classes, or null when it has none of its own. */
async function separateTestSplit(folder: string, options: dl.OpenOptions, trainSet: dl.Datastore): Promise<dl.Datastore | null> {
  const test = await dl.openDatastore(folder, 'test', { ...options, classes: trainSet.classes ?? undefined }).catch(() => null);
  return test && test.source !== trainSet.source ? test : null;
}

async function transferCmd(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    out: { type: 'string' }, 'input-size': { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' },
    freeze: { type: 'string' }, head: { type: 'string' }, 'head-lr-factor': { type: 'string' }, augment: { type: 'string' }, seed: { type: 'string' },
    weights: { type: 'string' }, quiet: { type: 'boolean', default: false }, plots: { type: 'boolean', default: false }, strict: { type: 'boolean', default: false },
  }, [2, 2]);
  const [spec, folder] = positionals as [string, string];
  const freeze = choice(v.freeze, 'freeze', ['none', 'backbone'] as const);
  const seed = num(v.seed, 'seed', { integer: true, min: 0 });
  const training: dl.TrainingOptionsInput = {
    ...(v.epochs !== undefined && { maxEpochs: num(v.epochs, 'epochs', { integer: true, min: 1 }) }),
    ...(v['batch-size'] !== undefined && { miniBatchSize: num(v['batch-size'], 'batch-size', { integer: true, min: 1 }) }),
    ...(v.lr !== undefined && { initialLearnRate: num(v.lr, 'lr', { min: Number.MIN_VALUE }) }),
    ...(seed !== undefined && { seed }),
  };
  const headLearnRateFactor = num(v['head-lr-factor'], 'head-lr-factor', { min: Number.MIN_VALUE });
  const size = imageSizeFlag(v['input-size']);
  const out = v.out ?? path.join('out', `${path.basename(path.resolve(folder))}-transfer`, 'model.safetensors');
  const outDir = path.dirname(out);
  if (seed !== undefined) dl.manualSeed(seed);
  const network = await startingNetwork(spec, v.weights);
  try {
    const [channels, h, w] = network.inputShape;
    const inputSize = size ?? [h!, w!];
    const opened = { inputSize, channels: channels as 1 | 3, strict: v.strict };
    const trainSet = await dl.openDatastore(folder, 'train', opened);
    for (const warning of (trainSet as Partial<dl.ImageDatastore>).warnings ?? []) console.warn(`warning: ${warning}`);
    const testSet = await separateTestSplit(folder, opened, trainSet);
    const list = v.augment ?? 'flip';
    const augmentation = list === 'none' ? undefined : dl.parseAugmentList(list, inputSize);
    const trainData = augmentation ? dl.augmentedImageDatastore(inputSize, trainSet as dl.ImageDatastore, augmentation) : trainSet;
    console.log(`data: ${trainSet.size} training images, ${trainSet.classes?.length} classes (${trainSet.source})${testSet ? `, ${testSet.size} test` : ''}; augmentation: ${augmentation ? dl.describeAugmenter(augmentation) : 'none'}`);
    mkdirSync(outDir, { recursive: true });
    const started = performance.now();
    const { setup, history } = await dl.transferLearn(network, trainData, {
      ...(freeze && { freeze }), ...(v.head && { head: v.head }), ...(headLearnRateFactor && { headLearnRateFactor }),
      inputSize: [channels!, ...inputSize],
      training: { ...training, verbose: !v.quiet, verboseFrequency: 20, plots: v.plots ? 'training-progress' : 'none', reportPath: outDir },
    });
    console.log(`new head '${setup.head}' for ${network.classes!.length} classes (was ${setup.replaced})${setup.inputSize ? `; input ${setup.inputSize.from.join('x')} -> ${setup.inputSize.to.join('x')}` : ''}${setup.frozen.length ? `; ${setup.frozen.length} layers frozen` : ''}`);
    console.log(`trained ${history.training.length} iterations in ${((performance.now() - started) / 1000).toFixed(1)} s (${history.stoppedBy})`);
    await dl.saveModel(network, out);
    if (testSet) {
      const e = await report(network, await withoutBadFiles(testSet), outDir);
      console.log(`test accuracy: ${e.accuracy.toFixed(4)}`);
    }
    console.log(`model: ${out}`);
    return history.stoppedBy === 'interrupted' ? 130 : 0;
  } finally {
    network.dispose();
  }
}

async function featuresCmd(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    layer: { type: 'string' }, svm: { type: 'boolean', default: false }, out: { type: 'string' }, pooling: { type: 'string' },
    kernel: { type: 'string' }, c: { type: 'string' }, gamma: { type: 'string' }, 'input-size': { type: 'string' }, weights: { type: 'string' },
    strict: { type: 'boolean', default: false },
  }, [2, 2]);
  const [spec, folder] = positionals as [string, string];
  if (!v.layer) throw new UsageError('--layer NAME is required (see `dlkit summary <model>` for the layer names)');
  const pooling = choice(v.pooling, 'pooling', ['none', 'avg', 'max'] as const) ?? 'none';
  const kernel = choice(v.kernel, 'kernel', ['rbf', 'linear'] as const);
  const gamma = v.gamma === undefined || v.gamma === 'scale' || v.gamma === 'auto' ? v.gamma as 'scale' | 'auto' | undefined : num(v.gamma, 'gamma', { min: Number.MIN_VALUE });
  const C = num(v.c, 'c', { min: Number.MIN_VALUE });
  const out = v.out ?? (v.svm ? 'svm.safetensors' : 'features.safetensors');
  const network = await startingNetwork(spec, v.weights);
  const owned: { dispose(): void }[] = [network];
  try {
    network.layer(network.outputRef(v.layer).layer);
    const size = imageSizeFlag(v['input-size']);
    if (size) dl.setInputSize(network, size);
    const [channels, h, w] = network.inputShape;
    const opened = { inputSize: [h!, w!], channels: channels as 1 | 3, strict: v.strict };
    const trainSet = await dl.openDatastore(folder, 'train', opened);
    const started = performance.now();
    const progress = (done: number, total: number) => process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}features: ${done}/${total}${process.stderr.isTTY && done < total ? '' : '\n'}`);
    const feats = await dl.activations(network, trainSet, v.layer, { outputAs: 'rows', pooling, onProgress: progress });
    owned.push(feats.features);
    console.log(`features of '${v.layer}': [${feats.features.shape.join(', ')}] from ${trainSet.size} images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (!v.svm) {
      const labels = feats.labels ? dl.tensor(Int32Array.from(feats.labels), { shape: [feats.labels.length] }) : null;
      if (labels) owned.push(labels);
      await dl.saveSafetensors(out, { features: feats.features, ...(labels && { labels }) }, { ...(feats.classes && { classes: JSON.stringify(feats.classes) }), layer: v.layer });
      console.log(`wrote ${out} (features${labels ? ' and labels' : ''})`);
      return 0;
    }
    if (!feats.labels || !feats.classes) throw new Error(`${folder}: --svm needs labeled images (class subfolders)`);
    const fitStart = performance.now();
    const svm = dl.fitSVM(feats.features, feats.labels, { ...(kernel && { kernel }), ...(C && { C }), ...(gamma !== undefined && { gamma }), classes: feats.classes });
    owned.push(svm);
    console.log(`SVM (${kernel ?? 'rbf'}) fitted in ${((performance.now() - fitStart) / 1000).toFixed(2)} s`);
    const classifier = dl.featureClassifier(network, v.layer, svm, { pooling });
    owned.push(classifier);
    await dl.saveModel(classifier, out);
    const testSet = await separateTestSplit(folder, opened, trainSet);
    if (testSet) {
      const e = await report(classifier, await withoutBadFiles(testSet), path.dirname(out));
      console.log(`test accuracy: ${e.accuracy.toFixed(4)}`);
    }
    console.log(`model: ${out} (the network up to '${v.layer}' and the SVM; classify and evaluate take it)`);
    return 0;
  } finally {
    for (const o of owned.reverse()) o.dispose();
  }
}

async function summary(args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, [1, 1]);
  const network = await dl.loadModel(positionals[0]!);
  console.log(network.summary());
  network.dispose();
  return 0;
}

function info(): number {
  const m = dl.memory();
  console.log(`dlkit: libtorch with ${dl.getNumThreads()} intra-op threads, device ${dl.defaultDevice()}`);
  console.log(`memory: ${m.liveTensors} live tensors, ${m.inUseBytes} bytes in use, ${m.cachedBytes} cached`);
  console.log(dl.buildInfo().parallel.trim());
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train': return await train(rest);
      case 'demo': return await train(['fashion-mnist', ...rest]);
      case 'classify': return await classify(rest);
      case 'evaluate': return await evaluateCmd(rest);
      case 'summary': return await summary(rest);
      case 'import': return await importCmd(rest);
      case 'export': return await exportCmd(rest);
      case 'zoo': return await zooCmd(rest);
      case 'transfer': return await transferCmd(rest);
      case 'features': return await featuresCmd(rest);
      case 'info': return info();
      case 'serve': return await serveCommand(rest);
      case 'live': return await liveCommand(rest);
      case 'detect': return await detectCommand(rest);
      case 'help': case '--help': case '-h':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(command ? `unknown command '${command}'` : 'missing command');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`dlkit${command ? ` ${command}` : ''}: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: Error) => { console.error(`dlkit: ${err.message}`); process.exitCode = 1; },
);
