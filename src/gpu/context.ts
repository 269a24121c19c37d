// The WebGPU plumbing every op uses: tensors on GPU buffers, a buffer pool, a
// pipeline cache, one command encoder that collects a whole training step, and
// readback. Op files in src/gpu/ops/ only ever call `ctx.dispatch(...)`.
//
// Why one encoder: submitting is costly, and reading back in the middle of a step
// stalls the GPU. So dispatches pile up in one compute pass until someone needs a
// value on the CPU (read) or calls flush() at the end of a step.
//
// A small transformer's step is a couple of hundred small dispatches, so what each
// one costs on the CPU matters as much as the kernels (src/gpu/README.md has the
// numbers). Two things keep it low: every dispatch's uniform parameters go into one
// arena that is uploaded with a single writeBuffer per submit, and bind groups are
// cached, since a training loop binds the same pooled buffers step after step.

import { KERNELS } from "./kernels.generated.js";
import {
  type BackendStats, type DType, type RawTensor, type Shape,
  DeviceLimitError, FreedTensorError, fmtShape, shapeSize,
} from "../tensor/backend.js";

/** Storage shared by a tensor and its reshaped views. */
export class GpuStorage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
}

export class GpuTensor implements RawTensor {
  readonly size: number;
  private released = false;
  constructor(readonly storage: GpuStorage, readonly shape: Shape, readonly dtype: DType) {
    this.size = shapeSize(shape);
  }
  get freed(): boolean {
    return this.released;
  }
  get buffer(): GPUBuffer {
    if (this.released) throw new FreedTensorError(`a tensor of shape ${fmtShape(this.shape)} was used after it was freed`);
    return this.storage.buffer;
  }
  /** marks this handle dead; returns true when the storage has no other users */
  release(): boolean {
    if (this.released) return false;
    this.released = true;
    return --this.storage.refs === 0;
  }
}

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x08; /* COPY_DST */
const READBACK_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */

/**
 * Buffers are kept by size class (powers of two, ≥ 256 bytes) and reused.
 * A buffer freed while the current encoder is still open may still be read by a
 * queued dispatch. Later dispatches in the same encoder may overwrite it (they run
 * in order), but queue.writeBuffer would run *before* the encoder is submitted, so
 * uploads only take buffers that were free before the encoder opened.
 */
class BufferPool {
  private settled = new Map<number, GPUBuffer[]>();
  private recent = new Map<number, GPUBuffer[]>();
  liveBytes = 0;
  pooledBytes = 0;
  constructor(private device: GPUDevice) {}

  static sizeClass(bytes: number): number {
    let s = 256;
    while (s < bytes) s *= 2;
    return s;
  }

  acquire(bytes: number, forUpload: boolean): GPUBuffer {
    const cls = BufferPool.sizeClass(bytes);
    const lists = forUpload ? [this.settled] : [this.recent, this.settled];
    this.liveBytes += cls;
    for (const m of lists) {
      const b = m.get(cls)?.pop();
      if (b) return b;
    }
    this.pooledBytes += cls;
    return this.device.createBuffer({ size: cls, usage: STORAGE_USAGE });
  }

  release(buffer: GPUBuffer): void {
    const cls = buffer.size;
    this.liveBytes -= cls;
    let list = this.recent.get(cls);
    if (!list) this.recent.set(cls, (list = []));
    list.push(buffer);
  }

  /** after a submit every freed buffer is safe for uploads too */
  settle(): void {
    for (const [cls, list] of this.recent) {
      let dst = this.settled.get(cls);
      if (!dst) this.settled.set(cls, (dst = []));
      dst.push(...list);
    }
    this.recent.clear();
  }

  destroy(): void {
    for (const m of [this.settled, this.recent]) for (const list of m.values()) for (const b of list) b.destroy();
    this.settled.clear();
    this.recent.clear();
  }
}

/**
 * The uniform parameters of every dispatch until the next submit, packed into
 * host-side chunks and uploaded with one queue.writeBuffer per chunk just before
 * the submit. Each dispatch binds its own slice (aligned to the device's
 * minUniformBufferOffsetAlignment). Reusing the same GPU buffers at every submit is
 * safe because the queue runs in order: the next upload lands after the previous
 * submit's dispatches have read theirs.
 */
class UniformArena {
  static readonly CHUNK_BYTES = 64 * 1024;
  private chunks: { buffer: GPUBuffer; host: DataView }[] = [];
  private chunk = 0;
  private offset = 0;
  constructor(private device: GPUDevice, private align: number) {}

  /** Packs `values` (4 bytes each) and returns where they will be on the GPU. */
  allocate(values: UniformValue[]): { buffer: GPUBuffer; offset: number; size: number } {
    const size = Math.max(16, Math.ceil((values.length * 4) / 16) * 16);
    if (this.offset + size > UniformArena.CHUNK_BYTES) {
      this.chunk++;
      this.offset = 0;
    }
    if (this.chunk === this.chunks.length) {
      this.chunks.push({
        buffer: this.device.createBuffer({ size: UniformArena.CHUNK_BYTES, usage: UNIFORM_USAGE }),
        host: new DataView(new ArrayBuffer(UniformArena.CHUNK_BYTES)),
      });
    }
    const { buffer, host } = this.chunks[this.chunk]!;
    const offset = this.offset;
    values.forEach((v, i) => {
      const at = offset + i * 4;
      if (typeof v === "number") host.setUint32(at, v, true);
      else if ("u32" in v) host.setUint32(at, v.u32, true);
      else if ("i32" in v) host.setInt32(at, v.i32, true);
      else host.setFloat32(at, v.f32, true);
    });
    this.offset += Math.ceil(size / this.align) * this.align;
    return { buffer, offset, size };
  }

  /** Writes what was packed since the last upload to the GPU; call right before a submit. */
  upload(): void {
    for (let c = 0; c <= this.chunk && c < this.chunks.length; c++) {
      const used = c < this.chunk ? UniformArena.CHUNK_BYTES : this.offset;
      if (used > 0) this.device.queue.writeBuffer(this.chunks[c]!.buffer, 0, this.chunks[c]!.host.buffer, 0, used);
    }
    this.chunk = 0;
    this.offset = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks = [];
  }
}

/** Values of a kernel's uniform `Params` struct, in declaration order; each is a u32, i32 or f32. */
export type UniformValue = { u32: number } | { i32: number } | { f32: number } | number;

export interface DispatchSpec {
  /** file name in kernels/ without .wgsl */
  kernel: string;
  /** entry point; default "main" */
  entry?: string;
  /** pipeline-overridable constants (`override` declarations), part of the cache key */
  constants?: Record<string, number>;
  /** bound as @binding(0), (1), ... in group 0, in order */
  buffers: (GpuTensor | GPUBuffer)[];
  /**
   * bound right after the buffers as a uniform struct. A plain number is a u32.
   * Fields are 4 bytes each; WGSL struct layout must match (no vec3 padding surprises).
   */
  uniforms?: UniformValue[];
  /** workgroup counts; a count larger than the device limit is folded into y by the caller */
  workgroups: [number, number?, number?];
  /** floating-point operations this dispatch performs (for GFLOP/s read-outs) */
  flops?: number;
}

export class GpuContext {
  readonly pool: BufferPool;
  private pipelines = new Map<string, GPUComputePipeline>();
  private modules = new Map<string, GPUShaderModule>();
  /** WGSL generated at run time (e.g. attention specialised to a head size), by kernel name */
  private generated = new Map<string, string>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private uniforms: UniformArena;
  /** bind groups by pipeline, buffers and uniform slice (see bindGroup) */
  private bindGroups = new Map<string, GPUBindGroup>();
  /** a number per pipeline and per buffer, for bind group keys */
  private ids = new WeakMap<GPUComputePipeline | GPUBuffer, number>();
  private nextId = 0;
  /** bind groups created so far (the rest of the dispatches found theirs in the cache) */
  bindGroupsCreated = 0;
  readonly maxBinding: number;
  readonly maxWorkgroups: number;
  counters = { dispatches: 0, submits: 0, readbacks: 0, uploads: 0, flops: 0 };
  private lostMessage: string | null = null;
  private gpuError: string | null = null;
  /** per-dispatch GPU timing, when enabled and the adapter has timestamp queries */
  private profiler: { querySet: GPUQuerySet; resolve: GPUBuffer; labels: string[]; capacity: number } | null = null;

  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    this.uniforms = new UniformArena(device, Number(device.limits.minUniformBufferOffsetAlignment));
    this.maxBinding = Number(device.limits.maxStorageBufferBindingSize);
    this.maxWorkgroups = Number(device.limits.maxComputeWorkgroupsPerDimension);
    device.lost.then((info) => {
      this.lostMessage = `the GPU device was lost (${info.reason}): ${info.message}`;
    });
    // A validation error (a bad kernel, a bad binding) would otherwise only show as
    // wrong numbers; keep the first one and fail the next readback with it.
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.gpuError ??= ev.error.message;
    };
  }

  get lost(): string | null {
    return this.lostMessage;
  }

  // ---- tensors ------------------------------------------------------------

  private checkSize(shape: Shape): number {
    const bytes = shapeSize(shape) * 4;
    if (bytes > this.maxBinding) {
      throw new DeviceLimitError(
        `a tensor of shape ${fmtShape(shape)} needs ${bytes} bytes, more than this device's maxStorageBufferBindingSize (${this.maxBinding})`,
      );
    }
    return bytes;
  }

  /** a new tensor whose contents a kernel will fully write */
  empty(shape: Shape, dtype: DType): GpuTensor {
    const bytes = this.checkSize(shape);
    return new GpuTensor(new GpuStorage(this.pool.acquire(Math.max(bytes, 4), false), bytes), [...shape], dtype);
  }

  upload(data: ArrayLike<number>, shape: Shape, dtype: DType): GpuTensor {
    const bytes = this.checkSize(shape);
    const buffer = this.pool.acquire(Math.max(bytes, 4), true);
    const host = dtype === "i32" ? Int32Array.from(data) : Float32Array.from(data);
    if (host.byteLength > 0) this.device.queue.writeBuffer(buffer, 0, host);
    this.counters.uploads++;
    return new GpuTensor(new GpuStorage(buffer, bytes), [...shape], dtype);
  }

  view(t: GpuTensor, shape: Shape): GpuTensor {
    void t.buffer; // throws if freed
    t.storage.refs++;
    return new GpuTensor(t.storage, [...shape], t.dtype);
  }

  free(t: GpuTensor): void {
    if (t.release()) this.pool.release(t.storage.buffer);
  }

  // ---- pipelines and dispatch ----------------------------------------------

  pipeline(kernel: string, entry = "main", constants?: Record<string, number>): GPUComputePipeline {
    const key = `${kernel}:${entry}:${constants ? JSON.stringify(constants) : ""}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    let module = this.modules.get(kernel);
    if (!module) {
      const code = this.generated.get(kernel) ?? KERNELS[kernel];
      if (code === undefined) throw new Error(`no kernel named "${kernel}" in kernels/ (did you run npm run gen?)`);
      module = this.device.createShaderModule({ code, label: kernel });
      this.modules.set(kernel, module);
    }
    p = this.device.createComputePipeline({
      label: key,
      layout: "auto",
      compute: { module, entryPoint: entry, ...(constants ? { constants } : {}) },
    });
    this.pipelines.set(key, p);
    return p;
  }

  /**
   * Make generated WGSL dispatchable under `name` (once; later calls are no-ops).
   * `make` runs only the first time, so callers can pass a generator cheaply.
   */
  registerKernel(name: string, make: () => string): string {
    if (!this.generated.has(name) && KERNELS[name] === undefined) this.generated.set(name, make());
    return name;
  }

  private idOf(x: GPUComputePipeline | GPUBuffer): number {
    let id = this.ids.get(x);
    if (id === undefined) this.ids.set(x, (id = this.nextId++));
    return id;
  }

  /**
   * The bind group for a pipeline, its buffers and its uniform slice. Created once
   * and then reused: the pool hands the same buffers to the same ops step after step,
   * and the arena puts their uniforms at the same offsets. Pool buffers live as long
   * as the context, so a cached group never points at a destroyed buffer.
   */
  private bindGroup(pipeline: GPUComputePipeline, buffers: GPUBuffer[], uniform: { buffer: GPUBuffer; offset: number; size: number } | null): GPUBindGroup {
    let key = `${this.idOf(pipeline)}`;
    for (const b of buffers) key += `,${this.idOf(b)}`;
    if (uniform) key += `|${this.idOf(uniform.buffer)}@${uniform.offset}+${uniform.size}`;
    let group = this.bindGroups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    if (uniform) entries.push({ binding: entries.length, resource: { buffer: uniform.buffer, offset: uniform.offset, size: uniform.size } });
    group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.bindGroupsCreated++;
    // Shapes that change every call (say, decoding at a growing length) would grow the
    // cache without end; starting over now and then keeps it bounded.
    if (this.bindGroups.size >= 4096) this.bindGroups.clear();
    this.bindGroups.set(key, group);
    return group;
  }

  private computePass(): GPUComputePassEncoder {
    if (this.lostMessage) throw new Error(this.lostMessage);
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.encoder;
  }

  dispatch(spec: DispatchSpec): void {
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x === 0 || y === 0 || z === 0) return; // nothing to do (an empty tensor)
    if (x > this.maxWorkgroups || y > this.maxWorkgroups || z > this.maxWorkgroups) {
      throw new DeviceLimitError(`${spec.kernel}: ${x}×${y}×${z} workgroups exceeds the device limit of ${this.maxWorkgroups} per dimension`);
    }
    const pipeline = this.pipeline(spec.kernel, spec.entry, spec.constants);
    const buffers = spec.buffers.map((b) => (b instanceof GpuTensor ? b.buffer : b));
    const bindGroup = this.bindGroup(pipeline, buffers, spec.uniforms ? this.uniforms.allocate(spec.uniforms) : null);
    const prof = this.profiler;
    if (prof && prof.labels.length < prof.capacity) {
      // Timestamps are written at pass boundaries, so a timed dispatch gets a pass of its own.
      const enc = this.endPass();
      const i = prof.labels.length;
      prof.labels.push(spec.entry && spec.entry !== "main" ? `${spec.kernel}:${spec.entry}` : spec.kernel);
      const pass = enc.beginComputePass({
        timestampWrites: { querySet: prof.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    } else {
      const pass = this.computePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
    }
    this.counters.dispatches++;
    this.counters.flops += spec.flops ?? 0;
  }

  /** Split n workgroups into (x, y) with x ≤ the device limit; kernels compute id = gid.x + gid.y * nx. */
  grid(n: number): [number, number] {
    if (n <= this.maxWorkgroups) return [n, 1];
    const y = Math.ceil(n / this.maxWorkgroups);
    return [Math.ceil(n / y), y];
  }

  /** encoder-ordered buffer copy (used by layout ops that are plain copies) */
  copy(src: GpuTensor, srcOffsetBytes: number, dst: GpuTensor, dstOffsetBytes: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass().copyBufferToBuffer(src.buffer, srcOffsetBytes, dst.buffer, dstOffsetBytes, bytes);
  }

  /** Submit everything queued so far. */
  flush(): void {
    if (!this.encoder) return;
    const enc = this.endPass();
    this.uniforms.upload(); // queued before the submit, so the dispatches see it
    this.device.queue.submit([enc.finish()]);
    this.encoder = null;
    this.counters.submits++;
    this.pool.settle();
  }

  /** Copy a tensor to the host. Submits the current encoder. */
  async read(t: GpuTensor): Promise<Float32Array | Int32Array> {
    const bytes = t.size * 4;
    const staging = this.device.createBuffer({ size: Math.max(bytes, 4), usage: READBACK_USAGE });
    if (bytes > 0) this.endPass().copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.flush();
    this.counters.readbacks++;
    await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
    if (this.gpuError) {
      const message = this.gpuError;
      this.gpuError = null; // reported once
      staging.destroy();
      throw new Error(`a WebGPU error happened while computing this value: ${message}`);
    }
    const copy = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return t.dtype === "i32" ? new Int32Array(copy) : new Float32Array(copy);
  }

  /**
   * Time the next `capacity` dispatches on the GPU with timestamp queries.
   * Returns false when the adapter does not offer them.
   */
  startProfiling(capacity = 1024): boolean {
    if (!this.device.features.has("timestamp-query")) return false;
    this.stopProfiling();
    this.profiler = {
      querySet: this.device.createQuerySet({ type: "timestamp", count: 2 * capacity }),
      resolve: this.device.createBuffer({ size: 16 * capacity, usage: 0x0200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ }),
      labels: [],
      capacity,
    };
    return true;
  }

  /** GPU milliseconds per kernel (summed over its dispatches) since startProfiling; stops profiling */
  async readProfile(): Promise<{ kernel: string; ms: number; count: number }[]> {
    const prof = this.profiler;
    if (!prof) return [];
    const n = prof.labels.length;
    const out = new Map<string, { ms: number; count: number }>();
    if (n > 0) {
      const staging = this.device.createBuffer({ size: 16 * n, usage: READBACK_USAGE });
      const enc = this.endPass();
      enc.resolveQuerySet(prof.querySet, 0, 2 * n, prof.resolve, 0);
      enc.copyBufferToBuffer(prof.resolve, 0, staging, 0, 16 * n);
      this.flush();
      await staging.mapAsync(0x0001);
      const ticks = new BigInt64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      prof.labels.forEach((label, i) => {
        const ns = Number(ticks[2 * i + 1]! - ticks[2 * i]!);
        const e = out.get(label) ?? { ms: 0, count: 0 };
        e.ms += Math.max(0, ns) / 1e6;
        e.count++;
        out.set(label, e);
      });
    }
    this.stopProfiling();
    return [...out].map(([kernel, v]) => ({ kernel, ...v })).sort((a, b) => b.ms - a.ms);
  }

  private stopProfiling(): void {
    if (!this.profiler) return;
    this.flush();
    this.profiler.querySet.destroy();
    this.profiler.resolve.destroy();
    this.profiler = null;
  }

  stats(): BackendStats {
    return { ...this.counters, liveBytes: this.pool.liveBytes, pooledBytes: this.pool.pooledBytes };
  }

  resetStats(): void {
    this.counters = { dispatches: 0, submits: 0, readbacks: 0, uploads: 0, flops: 0 };
  }

  destroy(): void {
    this.stopProfiling();
    this.flush();
    this.pool.destroy();
    this.uniforms.destroy();
    this.bindGroups.clear();
  }
}
