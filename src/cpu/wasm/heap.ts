// One WebAssembly memory holds every tensor of a WebAssembly CPU backend, so the
// kernels can read and write tensors in place (no copy in or out per op). This is
// the allocator over it, in the spirit of the GPU buffer pool (src/gpu/pool.ts):
//
// - block sizes are rounded up to size classes (16-byte steps up to 256 bytes,
//   then 8 steps per power of two, so at most 12.5% is wasted);
// - a freed block goes onto its class's free list and the next request of that
//   class reuses it; a training loop asks for the same sizes every step, so after
//   the first step the heap stops growing (tests/unit/cpu-wasm.test.ts checks it);
// - when no free block fits, the top of the heap moves up, growing the memory.
//
// Growing a WebAssembly memory replaces its ArrayBuffer and detaches every typed
// array over the old one; `generation` counts the grows so that storages can
// re-make their views (HeapStorage below).

import type { DType, HostArray } from "../../tensor/backend.js";
import { CpuStorage } from "../tensor.js";

const PAGE = 65536;

export interface HeapOptions {
  /** fill every block handed out without zeroing with NaN (f32) / -1 (i32), to catch unwritten outputs in tests */
  poison?: boolean;
}

export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(16, Math.ceil(bytes / 16) * 16);
  const octave = 2 ** Math.floor(Math.log2(bytes)); // 2^e ≤ bytes
  const step = octave / 8;
  return Math.ceil(bytes / step) * step;
}

export class WasmHeap {
  /** bumped on every grow: views made before are detached */
  generation = 0;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly poison: boolean;
  /** blocks of storages that were garbage-collected without free() go back here */
  private readonly finalizer = new FinalizationRegistry<{ offset: number; bytes: number }>((b) => this.release(b.offset, b.bytes));

  /**
   * memory: the memory the kernels' instance imports; base: the first byte after the
   * module's static data (the heap starts there, rounded up, and never at 0: byte
   * offset 0 means "no tensor" to the kernels).
   */
  constructor(readonly memory: WebAssembly.Memory, base: number, opts: HeapOptions = {}) {
    this.top = Math.max(1024, Math.ceil(base / 64) * 64);
    this.poison = !!opts.poison;
  }

  /** bytes the memory holds (live, free or never used) */
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  /** a block of at least `bytes` bytes, 16-byte aligned; zeroed if asked */
  alloc(bytes: number, zeroed: boolean): number {
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    let offset = list?.pop();
    if (offset === undefined) {
      offset = this.top;
      this.top += size;
      if (this.top > this.memory.buffer.byteLength) this.grow(this.top);
    }
    if (zeroed) new Uint8Array(this.memory.buffer, offset, size).fill(0);
    else if (this.poison) new Float32Array(this.memory.buffer, offset, size / 4).fill(NaN);
    return offset;
  }

  release(offset: number, bytes: number): void {
    const size = sizeClass(bytes);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(offset);
  }

  /** a storage of n elements in this heap */
  storage(n: number, dtype: DType, zeroed: boolean): HeapStorage {
    const bytes = Math.max(4, n * 4);
    const s = new HeapStorage(this, this.alloc(bytes, zeroed), n, dtype);
    this.finalizer.register(s, { offset: s.offset, bytes }, s);
    return s;
  }

  /** called by HeapStorage.release(): the block is free again, and no longer watched */
  releaseStorage(s: HeapStorage): void {
    this.finalizer.unregister(s);
    this.release(s.offset, Math.max(4, s.length * 4));
  }

  private grow(needed: number): void {
    const have = this.memory.buffer.byteLength;
    // grow by at least half again, so a growing run does not grow every op
    const want = Math.max(needed, Math.ceil(have * 1.5));
    this.memory.grow(Math.ceil((want - have) / PAGE));
    this.generation++;
  }
}

/** A tensor's elements inside a WasmHeap. */
export class HeapStorage extends CpuStorage {
  private view: HostArray;
  private viewGeneration: number;

  constructor(readonly heap: WasmHeap, readonly offset: number, readonly length: number, readonly dtype: DType) {
    const view = HeapStorage.makeView(heap, offset, length, dtype);
    super(view);
    this.view = view;
    this.viewGeneration = heap.generation;
  }

  private static makeView(heap: WasmHeap, offset: number, length: number, dtype: DType): HostArray {
    return dtype === "i32" ? new Int32Array(heap.memory.buffer, offset, length) : new Float32Array(heap.memory.buffer, offset, length);
  }

  override get data(): HostArray {
    if (this.viewGeneration !== this.heap.generation) {
      this.view = HeapStorage.makeView(this.heap, this.offset, this.length, this.dtype);
      this.viewGeneration = this.heap.generation;
    }
    return this.view;
  }

  override get byteLength(): number {
    return this.length * 4;
  }

  override release(): void {
    this.heap.releaseStorage(this);
  }
}
