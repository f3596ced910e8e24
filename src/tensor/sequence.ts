// A sequence of tensors as one value: what an imported ONNX graph's sequence-typed tensors
// (SequenceConstruct, SplitToSequence, a Loop's accumulated results) hold. It owns its tensors:
// dispose() frees them, and a tidy scope that returns a sequence keeps its tensors (CONTENTS).
// Tensors are never shared between two sequences: operations build new sequences of aliases,
// so freeing one sequence never frees another's elements.
import { CONTENTS, type Disposable } from './memory.js';
import type { Tensor } from './tensor.js';
import type { DType } from './dtype.js';

export class TensorSequence implements Disposable {
  readonly tensors: readonly Tensor[];
  /** The element type; an empty sequence has one too (ONNX's SequenceEmpty names it). */
  readonly dtype: DType;
  #disposed = false;

  /** Takes over `tensors` (they are freed with the sequence). */
  constructor(tensors: readonly Tensor[], dtype?: DType) {
    const type = dtype ?? tensors[0]?.dtype ?? 'float32';
    const other = tensors.findIndex((t) => t.dtype !== type);
    if (other >= 0) throw new TypeError(`TensorSequence: every element must be ${type}, element ${other} is ${tensors[other]!.dtype}`);
    this.tensors = [...tensors];
    this.dtype = type;
  }

  get length(): number {
    return this.tensors.length;
  }

  /** The element at `i`; negative counts from the end. */
  at(i: number): Tensor {
    const k = i < 0 ? i + this.tensors.length : i;
    const t = this.tensors[k];
    if (!Number.isInteger(i) || !t) throw new RangeError(`TensorSequence: index ${i} is out of range for a sequence of ${this.tensors.length}`);
    return t;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
    this.#disposed = true;
  }

  [CONTENTS](): Iterable<Disposable> {
    return this.tensors;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `TensorSequence(${this.tensors.length} × ${this.dtype}: ${this.tensors.map((t) => `[${t.shape.join(', ')}]`).join(' ')})`;
  }
}
