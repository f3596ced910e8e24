// trainNetwork: the training loop with validation, early stopping, learn-rate schedules,
// gradient clipping, checkpoints, Ctrl-C handling, terminal progress and a live chart.
// The step itself (`trainingStep`) is a plain function, so a custom loop can reuse it.
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Tensor } from '../tensor/tensor.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/autograd.js';
import { autocast, cpuHasBfloat16 } from '../tensor/autocast.js';
import { manualSeed, cudaAvailable, defaultDevice } from '../tensor/engine.js';
import type { Network } from '../nn/network.js';
import { ImageInput } from '../nn/layers/input.js';
import * as F from '../nn/functional/index.js';
import type { Datastore } from '../data/datastore.js';
import { Optimizer } from '../optim/optimizer.js';
import { SGDM } from '../optim/sgdm.js';
import { Adam, AdamW } from '../optim/adam.js';
import { RMSProp } from '../optim/rmsprop.js';
import { clipGradNorm } from '../optim/clip.js';
import { constant, cosine, oneCycle, piecewise, warmup, type Schedule } from '../optim/schedule.js';
import { parseTrainingOptions, type IterationInfo, type TrainingLossFunction, type TrainingOptions, type TrainingOptionsInput, type TrainingWarning } from './options.js';
import { ProgressReporter } from './progress.js';
import { startProgressServer, type ProgressServer } from './progress-server.js';
import { trainingProgressOption, savePng, saveHtml, type ProgressData } from './charts.js';
import { checkpointFile, loadCheckpoint, saveCheckpoint, type TrainingPosition } from './checkpoint.js';

export interface TrainingRecord {
  iteration: number;
  epoch: number;
  loss: number;
  accuracy: number;
  learnRate: number;
  time: number;
}

export interface ValidationRecord {
  iteration: number;
  epoch: number;
  loss: number;
  accuracy: number;
  /** Seconds since training started when this validation finished. */
  time: number;
}

export interface TrainingHistory {
  training: TrainingRecord[];
  validation: ValidationRecord[];
  /** Why training ended. */
  stoppedBy: 'max-epochs' | 'validation-patience' | 'interrupted' | 'callback' | 'diverged' | null;
  /** Seconds of training (over resumed runs too). */
  elapsed: number;
}

export interface TrainingResult {
  network: Network;
  history: TrainingHistory;
  /** The last checkpoint written, if any. */
  checkpoint: string | null;
  /** Files of the training-progress chart, when plots were on. */
  plots: string[];
  /** What the run noticed about itself (a loss that stayed at a uniform guess's), in order. */
  warnings: TrainingWarning[];
}

/**
 * The loss became NaN or infinite: the weights are no longer usable and training stops. The
 * network holds the broken weights; `checkpoint` is the last one written before (null if none).
 */
export class TrainingDivergedError extends RangeError {
  constructor(message: string, readonly loss: number, readonly epoch: number, readonly iteration: number, readonly checkpoint: string | null, readonly history: TrainingHistory) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/**
 * An epoch has learned nothing when its mean training loss is at least NOT_LEARNING_RATIO of
 * ln(classes) — the loss of a uniform guess, with or without label smoothing — and its training
 * accuracy is within NOT_LEARNING_MARGIN of chance (1/classes). The loss alone is not enough: a
 * healthy run on ants/bees (no augmentation, one-cycle warmup) averaged 0.704 = 1.02 ln 2 in its
 * third epoch at 66% accuracy, and one with the default preset spiked to 0.914 at 60% near its
 * peak rate before ending at 72.5% (docs/notes.md, "Small data"). A run that is not learning is
 * judged again every epoch, so a strict margin only delays the warning; a loose one raises it on
 * a healthy run.
 */
export const NOT_LEARNING_RATIO = 0.95;
export const NOT_LEARNING_MARGIN = 0.05;
/**
 * The check judges the last whole epochs (never the first) holding at least this many
 * observations and iterations: 3 iterations of 16 photos say too little (a healthy run on 60
 * ants/bees photos averaged 52% in its second epoch).
 */
export const NOT_LEARNING_MIN_OBSERVATIONS = 200;
export const NOT_LEARNING_MIN_ITERATIONS = 8;

/**
 * The 'not-learning' check on one epoch's mini-batch losses and accuracies: null when the
 * network learns, else the epoch's mean loss, mean accuracy and ln(classes).
 */
export function notLearning(records: readonly { loss: number; accuracy: number }[], classes: number): { loss: number; accuracy: number; chance: number } | null {
  if (classes < 2 || records.length === 0) return null;
  const loss = records.reduce((a, r) => a + r.loss, 0) / records.length;
  const accuracy = records.reduce((a, r) => a + r.accuracy, 0) / records.length;
  const chance = Math.log(classes);
  return loss >= NOT_LEARNING_RATIO * chance && accuracy <= 1 / classes + NOT_LEARNING_MARGIN ? { loss, accuracy, chance } : null;
}

function notLearningMessage(epochs: [number, number], { loss: mean, accuracy, chance }: { loss: number; accuracy: number; chance: number }, classes: number, o: TrainingOptions, peakRate: number): string {
  const above = mean > 1.5 * chance;
  const epoch = epochs[0] === epochs[1] ? `epoch ${epochs[1]}` : `epochs ${epochs[0]}-${epochs[1]}`;
  const rate = `${o.learnRateSchedule === 'one-cycle' ? 'peak' : 'initial'} ${peakRate.toPrecision(3)}`;
  return `${epoch}: the training loss averaged ${mean.toFixed(4)}, ${above ? 'above' : 'no better than'} a uniform guess over ${classes} classes (ln ${classes} = ${chance.toFixed(4)}), at ${(accuracy * 100).toFixed(1)}% training accuracy (chance: ${(100 / classes).toFixed(1)}%): the network is not learning. `
    + `${above ? 'The learn rate is too high: lower' : 'Lower'} initialLearnRate (now ${rate}, for miniBatchSize ${o.miniBatchSize}; a rate tuned for a larger batch is too high for a smaller one), `
    + 'check that the labels match the inputs, and that the inputs are normalized; on a small data set, also try a smaller network or more augmentation.';
}

/** Runs `forward` under bfloat16 autocast when asked, giving float32 outputs either way. */
function forwardIn(mixedPrecision: boolean, forward: () => Tensor): Tensor {
  return mixedPrecision ? autocast(forward).to('float32') : forward();
}

/**
 * For a network whose output layer is a softmax (MATLAB-style networks, Caffe's 'prob',
 * imported files): the layer that feeds it. The loss is taken on those logits, since
 * cross-entropy on probabilities would treat them as logits and barely learn.
 */
function logitsSource(network: Network): string | undefined {
  if (network.outputNames.length !== 1) return undefined;
  const out = network.layer(network.outputRef(network.outputNames[0]!).layer);
  return out.type === 'softmax' ? network.sourcesOf(out.name)[0] : undefined;
}

/** One optimization step on a batch: forward, loss, backward, clip, update. Returns loss and correct count. */
export function trainingStep(network: Network, optimizer: Optimizer, x: Tensor, y: Tensor, options: { labelSmoothing?: number; gradientThreshold?: number; mixedPrecision?: boolean; lossFunction?: TrainingLossFunction } = {}): { loss: number; correct: number } {
  return tidy(() => {
    const device = network.device;
    if (x.device !== device) { x = x.to({ device }); y = y.to({ device }); }
    const task = options.lossFunction;
    const logits = task ? undefined : logitsSource(network);
    const forward = () => network.forward(x, { training: true, ...(logits && { outputs: [logits] }) }) as Tensor;
    // The loss is taken in float32 and backward runs outside autocast (PyTorch's recipe).
    const out = forwardIn(options.mixedPrecision ?? false, forward);
    const loss = task ? taskLoss(task, out, y) : F.crossEntropy(out, y, { labelSmoothing: options.labelSmoothing ?? 0 });
    optimizer.zeroGrad();
    loss.backward();
    if (options.gradientThreshold !== undefined && Number.isFinite(options.gradientThreshold)) clipGradNorm(optimizer.params, options.gradientThreshold);
    optimizer.step();
    return { loss: loss.item(), correct: task ? NaN : out.argmax(1).eq(y).sum().item() };
  });
}

/** A task loss's value, checked to be the scalar the trainer needs. */
function taskLoss(lossFunction: TrainingLossFunction, output: Tensor, targets: Tensor): Tensor {
  const loss = lossFunction(output, targets.dtype === 'float64' ? targets.float() : targets);
  if (!loss || typeof loss.backward !== 'function' || loss.size !== 1) {
    throw new TypeError(`trainNetwork: option 'lossFunction' must return a scalar tensor, got ${loss && typeof loss.backward === 'function' ? `shape [${loss.shape.join(', ')}]` : typeof loss}`);
  }
  return loss.ndim === 0 ? loss : loss.reshape([]);
}

/** Loss and accuracy of the network on labeled data, in inference mode. */
export async function validationMetrics(network: Network, data: Datastore, batchSize: number, { mixedPrecision = false, lossFunction }: { mixedPrecision?: boolean; lossFunction?: TrainingLossFunction } = {}): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  for await (const { x, y } of data.batches({ batchSize })) {
    if (!y) { x.dispose(); throw new TypeError(`validation data ${data.source} has no labels`); }
    const [l, c] = tidy(() => noGrad(() => {
      const device = network.device;
      const input = x.device === device ? x : x.to({ device });
      const labels = y.device === device ? y : y.to({ device });
      if (lossFunction) {
        // A task loss is defined on the training-mode output (logits before any softmax layer).
        const out = forwardIn(mixedPrecision, () => network.forward(input, { training: false }) as Tensor);
        return [taskLoss(lossFunction, out, labels).item() * x.shape[0]!, NaN];
      }
      const forward = () => network.infer(input);
      // Validation runs in the training's precision (as PyTorch Lightning's precision plugins do).
      const probabilities = logitsSource(network) !== undefined;
      // log p of a softmax output is a logit vector whose softmax is p: the same loss as on the logits.
      const raw = forwardIn(mixedPrecision, forward);
      const out = probabilities ? raw.clamp(1e-30).log() : raw;
      return [F.crossEntropy(out, labels, { reduction: 'sum' }).item(), out.argmax(1).eq(labels).sum().item()];
    }));
    lossSum += l!;
    correct += c!;
    n += x.shape[0]!;
    dispose([x, y]);
  }
  return { loss: lossSum / Math.max(n, 1), accuracy: correct / Math.max(n, 1) };
}

/**
 * Per-channel mean and standard deviation of raw inputs, for zero-center / z-score normalization.
 * Random transforms (an augmented datastore) are drawn from `seed`: without one, 1-pixel crops made
 * the statistics, and so a seeded training run, differ from run to run.
 */
export async function channelStatistics(data: Datastore, batchSize = 1024, seed = 0): Promise<{ mean: number[]; std: number[] }> {
  let sum: number[] | null = null;
  let sumSq: number[] | null = null;
  let count = 0;
  for await (const { x, y } of data.batches({ batchSize, seed })) {
    const [s, q] = tidy(() => {
      const flat = x.double().transpose(0, 1).reshape(x.shape[1]!, -1); // (C, N*H*W)
      return [Array.from(flat.sum(1).dataSync() as Float64Array), Array.from(flat.square().sum(1).dataSync() as Float64Array)];
    });
    sum = sum ? sum.map((v, i) => v + s![i]!) : s!;
    sumSq = sumSq ? sumSq.map((v, i) => v + q![i]!) : q!;
    count += x.size / x.shape[1]!;
    dispose([x, y]);
  }
  if (!sum || !sumSq || count === 0) throw new RangeError(`cannot compute normalization statistics: ${data.source} is empty`);
  const mean = sum.map((v) => v / count);
  const std = sumSq.map((v, i) => Math.sqrt(Math.max(v / count - mean[i]! ** 2, 0)) || 1);
  return { mean, std };
}

function makeOptimizer(network: Network, o: TrainingOptions): Optimizer {
  const groups = network.layers
    .filter((l) => l.params.size > 0 && l.learnRateFactor > 0)
    .map((l) => ({ params: [...l.params.values()], lrFactor: l.learnRateFactor, l2Factor: l.l2Factor, name: l.name }));
  if (groups.length === 0) throw new RangeError('trainNetwork: the network has nothing to train (every layer with parameters is frozen)');
  const lr = o.initialLearnRate ?? (o.solver === 'sgdm' ? 0.01 : 0.001);
  switch (o.solver) {
    case 'sgdm': return new SGDM(groups, { learnRate: lr, momentum: o.momentum, l2Regularization: o.l2Regularization });
    case 'adam': return new Adam(groups, { learnRate: lr, l2Regularization: o.l2Regularization });
    case 'adamw': return new AdamW(groups, { learnRate: lr, weightDecay: o.l2Regularization });
    case 'rmsprop': return new RMSProp(groups, { learnRate: lr, l2Regularization: o.l2Regularization });
  }
}

function makeSchedule(o: TrainingOptions): Schedule {
  const inner = o.learnRateSchedule === 'piecewise' ? piecewise({ dropFactor: o.learnRateDropFactor, dropPeriod: o.learnRateDropPeriod })
    : o.learnRateSchedule === 'cosine' ? cosine()
      : o.learnRateSchedule === 'one-cycle' ? oneCycle()
        : constant();
  return o.warmupEpochs > 0 ? warmup(inner, { epochs: o.warmupEpochs }) : inner;
}

function checkData(data: Datastore, network: Network, taskLoss: boolean): void {
  if (!data || typeof data.batches !== 'function') throw new TypeError('trainNetwork: the first argument must be a datastore (tensorDatastore, idxDatastore, imageDatastore, …)');
  const want = network.inputShape;
  if (data.inputShape.length !== want.length || data.inputShape.some((d, i) => d !== want[i])) {
    throw new RangeError(`trainNetwork: the data's observations have shape [${data.inputShape.join(', ')}] but the network's input layer '${network.inputNames[0]}' expects [${want.join(', ')}]`);
  }
  if (!data.classes) throw new TypeError(`trainNetwork: ${data.source} has no labels; training needs labeled data`);
  const outputs = network.outputShape.reduce((a, b) => a * b, 1);
  if (!taskLoss && outputs !== data.classes.length) {
    throw new RangeError(`trainNetwork: the data has ${data.classes.length} classes but the network's output '${network.outputNames[0]}' gives ${outputs} values per observation (shape [${network.outputShape.join(', ')}])`);
  }
  if (network.classes && network.classes.join('\u0000') !== data.classes.join('\u0000')) {
    throw new RangeError(`trainNetwork: the network's classes (${network.classes.join(', ')}) differ from the data's (${data.classes.join(', ')})`);
  }
}

/** What a `precision` option means on `device`: 'auto' becomes bfloat16-mixed where the CPU has bfloat16 instructions. */
export function resolvePrecision(precision: TrainingOptions['precision'], device: string = defaultDevice()): 'float32' | 'bfloat16-mixed' {
  if (precision === 'bfloat16-mixed' && device !== 'cpu') {
    throw new RangeError(`trainNetwork: precision 'bfloat16-mixed' runs on the CPU only so far, and training runs on '${device}'; use precision 'float32' or 'auto' there`);
  }
  if (precision === 'auto') return device === 'cpu' && cpuHasBfloat16() ? 'bfloat16-mixed' : 'float32';
  return precision;
}

/**
 * Trains `network` on labeled `data` (in place) and returns it with its history.
 * Ctrl-C stops after the current iteration and writes a checkpoint that `resume` continues from.
 */
export async function trainNetwork(data: Datastore, network: Network, optionsInput: TrainingOptionsInput = {}): Promise<TrainingResult> {
  const o = parseTrainingOptions(optionsInput);
  if (o.executionEnvironment === 'gpu' && !cudaAvailable()) {
    throw new RangeError("trainNetwork: executionEnvironment 'gpu' needs a CUDA GPU and a libtorch built for CUDA (set $LIBTORCH to one and run npm run setup); this one has none. Use 'auto' or 'cpu'.");
  }
  checkData(data, network, o.lossFunction !== undefined);
  // 'auto': the GPU when libtorch has one, else the CPU; the user's code does not change.
  const device = o.executionEnvironment === 'cpu' ? 'cpu' : defaultDevice();
  network.to(device);
  const mixedPrecision = resolvePrecision(o.precision, device) === 'bfloat16-mixed';
  if (o.validationData) {
    const v = o.validationData;
    if (v.inputShape.join() !== data.inputShape.join()) throw new RangeError(`trainNetwork: validationData observations have shape [${v.inputShape.join(', ')}], the training data's [${data.inputShape.join(', ')}]`);
    if (!v.classes || v.classes.join('\u0000') !== data.classes!.join('\u0000')) throw new RangeError('trainNetwork: validationData must have the same classes as the training data');
  }
  const iterationsPerEpoch = Math.floor(data.size / o.miniBatchSize);
  if (iterationsPerEpoch < 1) throw new RangeError(`trainNetwork: option 'miniBatchSize' (${o.miniBatchSize}) is larger than the training data (${data.size} observations)`);
  network.classes = [...data.classes!];
  const verbose = o.verbose ?? Boolean(process.stdout.isTTY);
  const reporter = new ProgressReporter({ verbose, maxEpochs: o.maxEpochs });

  if (o.seed !== undefined) manualSeed(o.seed);
  let shuffleSeed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  for (const layer of network.inputLayers) {
    if (layer instanceof ImageInput && layer.needsStatistics && !o.resume) {
      reporter.log(`computing ${layer.normalization} normalization statistics over ${data.size} observations…`);
      const { mean, std } = await channelStatistics(data, 1024, shuffleSeed);
      layer.setStatistics(mean, std);
    }
  }

  const optimizer = makeOptimizer(network, o);
  const baseRate = optimizer.learnRate;
  const schedule = makeSchedule(o);
  const history: TrainingHistory = { training: [], validation: [], stoppedBy: null, elapsed: 0 };
  let position: TrainingPosition = { epoch: 0, iterationInEpoch: 0, iteration: 0 };
  let elapsedBefore = 0;
  let lastCheckpoint: string | null = null;
  let server: ProgressServer | null = null;
  let stopRequested = false;
  let best: { loss: number; state: Record<string, Tensor> | null; bad: number } = { loss: Infinity, state: null, bad: 0 };
  const warnings: TrainingWarning[] = [];
  const warned = new Set<TrainingWarning['kind']>();
  const warn = (w: TrainingWarning): void => {
    warnings.push(w);
    warned.add(w.kind);
    reporter.log(`warning: ${w.message}`);
    o.onWarning?.(w);
  };

  const onSigint = () => {
    if (stopRequested) {
      process.stderr.write('\ninterrupted again: exiting without a checkpoint\n');
      process.exit(130);
    }
    stopRequested = true;
    process.stderr.write('\nstopping after this iteration (Ctrl-C again to quit at once)…\n');
  };
  process.on('SIGINT', onSigint);

  try {
    if (o.resume) {
      const info = await loadCheckpoint(o.resume, network, optimizer);
      if (info.miniBatchSize !== o.miniBatchSize) throw new RangeError(`trainNetwork: the checkpoint ${o.resume} was made with miniBatchSize ${info.miniBatchSize}, not ${o.miniBatchSize}: resume with the same value`);
      if (info.solver !== o.solver) throw new RangeError(`trainNetwork: the checkpoint ${o.resume} was made with solver '${info.solver}', not '${o.solver}'`);
      position = info.position;
      history.training = info.history.training;
      history.validation = info.history.validation;
      shuffleSeed = info.shuffleSeed;
      elapsedBefore = info.elapsed;
      if (position.iterationInEpoch >= iterationsPerEpoch) position = { epoch: position.epoch + 1, iterationInEpoch: 0, iteration: position.iteration };
      reporter.log(`resuming from ${o.resume} at epoch ${position.epoch + 1}, iteration ${position.iteration}`);
    }
    if (o.plots === 'training-progress') {
      server = await startProgressServer(o.plotsPort);
      reporter.log(`training progress: ${server.url}`);
    }
    const progressData = (status: string): ProgressData => ({
      training: history.training, validation: history.validation, iterationsPerEpoch, status,
      title: `Training progress (${o.solver}, batch ${o.miniBatchSize})`,
    });
    const start = performance.now();
    const elapsed = () => elapsedBefore + (performance.now() - start) / 1000;

    const writeCheckpoint = async (): Promise<void> => {
      const folder = o.checkpointPath ?? (stopRequested ? 'checkpoints' : null);
      if (!folder) return;
      const file = checkpointFile(folder, position);
      await saveCheckpoint(file, network, optimizer, {
        position, history: { ...history, elapsed: elapsed() }, shuffleSeed, miniBatchSize: o.miniBatchSize, solver: o.solver, elapsed: elapsed(),
      });
      lastCheckpoint = file;
    };

    const validate = async (epoch: number): Promise<boolean> => {
      const v = await validationMetrics(network, o.validationData!, o.miniBatchSize, { mixedPrecision, ...(o.lossFunction && { lossFunction: o.lossFunction }) });
      history.validation.push({ iteration: position.iteration, epoch: epoch + 1, ...v, time: elapsed() });
      if (v.loss < best.loss) {
        best.loss = v.loss;
        best.bad = 0;
        if (o.outputNetwork === 'best-validation-loss') {
          if (best.state) dispose(best.state);
          best.state = tidy(() => Object.fromEntries(Object.entries(network.stateDict()).map(([k, t]) => [k, keep(t.detach().clone())])));
        }
      } else if (++best.bad >= o.validationPatience) {
        history.stoppedBy = 'validation-patience';
        reporter.log(`validation loss has not improved for ${best.bad} validations: stopping early`);
        return true;
      }
      return false;
    };

    training: for (let epoch = position.epoch; epoch < o.maxEpochs; epoch++) {
      const skip = epoch === position.epoch ? position.iterationInEpoch : 0;
      position = { epoch, iterationInEpoch: skip, iteration: position.iteration };
      reporter.startEpoch(epoch + 1, iterationsPerEpoch, skip);
      const epochStart = performance.now();
      let seen = 0;
      let b = 0;
      let lastValidatedAt = -1;
      const batches = data.batches({
        batchSize: o.miniBatchSize, dropLast: true, shuffle: o.shuffle !== 'never', seed: shuffleSeed,
        epoch: o.shuffle === 'every-epoch' ? epoch : 0,
      });
      for await (const { x, y } of batches) {
        if (b++ < skip) { dispose([x, y]); continue; }
        const learnRate = baseRate * schedule({ iteration: position.iteration, epoch, iterationsPerEpoch, maxEpochs: o.maxEpochs });
        optimizer.learnRate = learnRate;
        const n = x.shape[0]!;
        let result: { loss: number; correct: number };
        try {
          result = trainingStep(network, optimizer, x, y!, { labelSmoothing: o.labelSmoothing, gradientThreshold: o.gradientThreshold, mixedPrecision, ...(o.lossFunction && { lossFunction: o.lossFunction }) });
        } finally {
          dispose([x, y]);
        }
        if (!Number.isFinite(result.loss)) {
          history.stoppedBy = 'diverged';
          history.elapsed = elapsed();
          const kept = lastCheckpoint ? `the last good checkpoint, ${lastCheckpoint}, is kept: resume from it with a lower initialLearnRate` : 'no checkpoint was written (set checkpointPath to keep one per epoch)';
          throw new TrainingDivergedError(`trainNetwork: the loss became ${result.loss} at iteration ${position.iteration + 1} (epoch ${epoch + 1}): training stopped, the network's weights are no longer usable. `
            + `Lower initialLearnRate (the rate was ${learnRate.toPrecision(3)} at that iteration, miniBatchSize ${o.miniBatchSize}), or set gradientThreshold; check the inputs for NaN or infinite values. ${kept}`,
          result.loss, epoch + 1, position.iteration + 1, lastCheckpoint, history);
        }
        seen += n;
        position = { epoch, iterationInEpoch: position.iterationInEpoch + 1, iteration: position.iteration + 1 };
        const record: TrainingRecord = { iteration: position.iteration, epoch: epoch + 1, loss: result.loss, accuracy: result.correct / n, learnRate, time: elapsed() };
        history.training.push(record);
        let stopForPatience = false;
        const info: IterationInfo = { epoch: epoch + 1, iteration: position.iteration, loss: record.loss, accuracy: record.accuracy, learnRate, elapsed: record.time };
        if (o.validationData && position.iteration % o.validationFrequency === 0) {
          stopForPatience = await validate(epoch);
          lastValidatedAt = position.iteration;
          const v = history.validation.at(-1)!;
          info.validationLoss = v.loss;
          info.validationAccuracy = v.accuracy;
        }
        const rate = seen / ((performance.now() - epochStart) / 1000);
        if (position.iteration % o.verboseFrequency === 0 || position.iteration === 1 || info.validationLoss !== undefined) {
          reporter.row({ ...info, rate });
        }
        reporter.tick(position.iterationInEpoch, record.loss, rate);
        server?.update(trainingProgressOption(progressData(`epoch ${epoch + 1}/${o.maxEpochs}, iteration ${position.iteration}`)));
        if (o.onIteration && o.onIteration(info) === false) { history.stoppedBy = 'callback'; break training; }
        if (stopForPatience) break training;
        if (stopRequested) { history.stoppedBy = 'interrupted'; break training; }
        await yieldToEventLoop(); // keeps the progress page, signals and timers alive
      }
      reporter.endEpoch();
      // The window: the last whole epochs after the first, enough of them to judge (see NOT_LEARNING_MIN_OBSERVATIONS).
      const windowEpochs = Math.max(1, Math.ceil(NOT_LEARNING_MIN_OBSERVATIONS / (iterationsPerEpoch * o.miniBatchSize)), Math.ceil(NOT_LEARNING_MIN_ITERATIONS / iterationsPerEpoch));
      if (!o.lossFunction && epoch >= windowEpochs && !warned.has('not-learning') && position.iterationInEpoch >= iterationsPerEpoch) {
        const stuck = notLearning(history.training.filter((r) => r.epoch > epoch + 1 - windowEpochs), data.classes!.length);
        if (stuck) warn({ kind: 'not-learning', epoch: epoch + 1, iteration: position.iteration, message: notLearningMessage([epoch + 2 - windowEpochs, epoch + 1], stuck, data.classes!.length, o, baseRate) });
      }
      const pipe = (data as { pipelineStats?: { imagesPerSecond: number; waitSeconds: number; decoded: number } }).pipelineStats;
      if (pipe && pipe.imagesPerSecond > 0) {
        reporter.log(`epoch ${epoch + 1}: data pipeline ${pipe.imagesPerSecond.toFixed(0)} img/s (${pipe.decoded} decoded), trainer waited ${pipe.waitSeconds.toFixed(1)} s for data`);
      }
      if (o.validationData && lastValidatedAt !== position.iteration) {
        const stop = await validate(epoch);
        const v = history.validation.at(-1)!;
        reporter.row({ epoch: epoch + 1, iteration: position.iteration, elapsed: elapsed(), loss: history.training.at(-1)?.loss ?? NaN, accuracy: history.training.at(-1)?.accuracy ?? NaN, validationLoss: v.loss, validationAccuracy: v.accuracy, learnRate: optimizer.learnRate });
        if (stop) break training;
      }
      if (o.checkpointPath && (epoch + 1) % o.checkpointFrequency === 0) await writeCheckpoint();
    }
    reporter.stop();
    if (!history.stoppedBy) history.stoppedBy = 'max-epochs';
    if (history.stoppedBy === 'interrupted') {
      await writeCheckpoint();
      process.stderr.write(`checkpoint written to ${lastCheckpoint}\nresume with: trainNetwork(data, network, { ...options, resume: '${lastCheckpoint}' })  or  dlkit train … --resume ${lastCheckpoint}\n`);
    } else if (o.checkpointPath && history.stoppedBy !== 'max-epochs') {
      await writeCheckpoint();
    }
    if (best.state) {
      network.loadStateDict(best.state);
      reporter.log(`returning the network with the lowest validation loss (${best.loss.toFixed(4)})`);
    }
    history.elapsed = elapsed();
    const plots: string[] = [];
    if (o.plots === 'training-progress') {
      const option = trainingProgressOption(progressData(`done: ${history.stoppedBy}, ${history.training.length} iterations in ${history.elapsed.toFixed(0)} s`));
      server?.update(option, true);
      const dir = o.reportPath ?? o.checkpointPath ?? '.';
      const base = path.join(dir, 'training-progress');
      await savePng(option, `${base}.png`, 1000, 700);
      await saveHtml(option, 'dlkit training progress', `${base}.html`);
      plots.push(`${base}.png`, `${base}.html`);
    }
    return { network, history, checkpoint: lastCheckpoint, plots, warnings };
  } finally {
    process.off('SIGINT', onSigint);
    reporter.stop();
    optimizer.dispose();
    if (best.state) dispose(best.state);
    await server?.close();
  }
}
