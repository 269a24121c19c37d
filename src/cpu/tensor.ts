// Storage and tensor handles of the CPU backend.
//
// A CpuTensor is a view: a shape and dtype over a reference-counted Storage.
// reshape() makes a second view over the same Storage; free() on a view marks
// that view freed and drops one reference; the storage is released (its bytes
// leave `liveBytes`, and a WebAssembly heap block goes back to its free list)
// when the last view is freed.

import type { DType, HostArray, RawTensor, Shape } from "../tensor/backend.js";

/** Storage in a plain typed array of its own (the reference engine, and float64 mode). */
export class CpuStorage {
  refs = 1;
  constructor(private readonly array: HostArray) {}
  /** the elements; a heap storage re-makes this view when its memory has grown */
  get data(): HostArray {
    return this.array;
  }
  get byteLength(): number {
    return this.array.byteLength;
  }
  /** give the space back (called once, when the last view is freed) */
  release(): void {}
}

/** what a tensor needs to know about the backend that made it */
export interface CpuTensorOwner {
  /** true once the backend was destroyed: every tensor it made then reads as freed */
  readonly destroyed: boolean;
}

export class CpuTensor implements RawTensor {
  readonly shape: Shape;
  readonly size: number;
  private _freed = false;

  constructor(
    /** the backend that made this tensor (tensors cannot be mixed across backends) */
    readonly owner: CpuTensorOwner,
    shape: Shape,
    readonly dtype: DType,
    readonly storage: CpuStorage,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = storage.data.length;
  }

  get freed(): boolean {
    return this._freed || this.owner.destroyed;
  }

  /**
   * The typed array behind this view (shared with other views of the same storage).
   * On the WebAssembly engine, allocating can grow the heap, which detaches every
   * view taken before: take views after an op's allocations, and do not keep them.
   */
  get data(): HostArray {
    return this.storage.data;
  }

  /** mark this view freed; returns true when that released the last reference */
  markFreed(): boolean {
    this._freed = true;
    this.storage.refs--;
    if (this.storage.refs !== 0) return false;
    this.storage.release();
    return true;
  }
}
