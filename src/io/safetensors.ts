// Checkpoints in the standard safetensors format, so PyTorch / `safetensors`
// users can open what the kit trains (and the kit can open theirs).
//
// Byte layout of a file:
//   [0, 8)            N, the header length: unsigned 64-bit, little-endian
//   [8, 8+N)          a JSON object, padded with spaces so 8+N is a multiple of 8:
//                       { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
//                         "__metadata__": { "<key>": "<string value>" } }
//   [8+N, end)        the data: each tensor's elements, row-major, little-endian,
//                     at [begin, end) counted from the start of the data.
//
// Works on host arrays only (Float32Array / Int32Array); no GPU, no file system,
// so the same code runs in Node and in the browser.

export type SafetensorsDType = "F32" | "I32";

export interface HostTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

export type TensorMap = Record<string, HostTensor>;
export type Metadata = Record<string, string>;

/** What a tensor must look like, e.g. from a model's parameter list. */
export interface TensorSpec {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

const BYTES_PER_ELEMENT: Record<SafetensorsDType, number> = { F32: 4, I32: 4 };
const METADATA_KEY = "__metadata__";

/** Typed arrays use the machine's byte order; the format is little-endian. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Serialises tensors (in name order, so the bytes are deterministic) to a safetensors file. */
export function encodeSafetensors(tensors: TensorMap, metadata?: Metadata): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") throw new Error(`safetensors: metadata "${key}" must be a string, got ${typeof value}`);
    }
    header[METADATA_KEY] = { ...metadata };
  }
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) throw new Error(`safetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    const { dtype, shape, data } = tensors[name] as HostTensor;
    if (dtype !== "F32" && dtype !== "I32") throw new Error(`safetensors: tensor "${name}" has unsupported dtype ${String(dtype)} (use F32 or I32)`);
    if (!isValidShape(shape)) throw new Error(`safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    const wantArray = dtype === "F32" ? Float32Array : Int32Array;
    if (!(data instanceof wantArray)) {
      throw new Error(`safetensors: tensor "${name}" is ${dtype} but its data is a ${data.constructor.name}, not a ${wantArray.name}`);
    }
    if (data.length !== elementCount(shape)) {
      throw new Error(`safetensors: tensor "${name}" has shape ${shapeText(shape)} (${elementCount(shape)} elements) but ${data.length} values`);
    }
    const size = data.length * BYTES_PER_ELEMENT[dtype];
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + size] };
    offset += size;
  }

  let json = JSON.stringify(header);
  const jsonBytesLength = new TextEncoder().encode(json).length;
  json += " ".repeat((8 - (jsonBytesLength % 8)) % 8); // pad so the data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  const view = new DataView(out.buffer);
  for (const name of names) {
    const { data } = tensors[name] as HostTensor;
    const [begin] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    if (HOST_IS_LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart + begin);
    } else {
      for (let i = 0; i < data.length; i++) {
        if (data instanceof Float32Array) view.setFloat32(dataStart + begin + 4 * i, data[i] as number, true);
        else view.setInt32(dataStart + begin + 4 * i, data[i] as number, true);
      }
    }
  }
  return out;
}

function refuse(reason: string): never {
  throw new Error(`safetensors: ${reason}`);
}

/** Parses a safetensors file, refusing (with a reason) anything malformed or truncated. */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer): { tensors: TensorMap; metadata: Metadata } {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 8) refuse(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    refuse(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes); the file is truncated or not safetensors`);
  }
  const dataStart = 8 + Number(headerLength);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    refuse(`header is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) refuse("header must be a JSON object");

  const dataLength = bytes.length - dataStart;
  const metadata: Metadata = {};
  const tensors: TensorMap = {};
  const ranges: { name: string; begin: number; end: number }[] = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) refuse(`"${METADATA_KEY}" must be an object of strings`);
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== "string") refuse(`metadata "${key}" must be a string, got ${JSON.stringify(value)}`);
        metadata[key] = value;
      }
      continue;
    }
    if (name === "__proto__") refuse(`a tensor may not be named "__proto__"`);
    if (typeof entry !== "object" || entry === null) refuse(`tensor "${name}": header entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype !== "F32" && dtype !== "I32") {
      refuse(`tensor "${name}" has dtype ${JSON.stringify(dtype)}; this kit reads only F32 and I32`);
    }
    if (!isValidShape(shape)) refuse(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      refuse(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = elementCount(shape) * BYTES_PER_ELEMENT[dtype];
    if (end < begin || end - begin !== expectedBytes) {
      refuse(`tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} ${shapeText(shape)} needs ${expectedBytes}`);
    }
    if (end > dataLength) {
      refuse(`tensor "${name}": data_offsets end at byte ${end} but the data section has only ${dataLength} bytes; the file is truncated`);
    }
    ranges.push({ name, begin, end });

    const data = dtype === "F32" ? new Float32Array(expectedBytes / 4) : new Int32Array(expectedBytes / 4);
    if (HOST_IS_LITTLE_ENDIAN) {
      // Copy (rather than view) so the tensor does not keep the whole file alive
      // and its start is 4-byte aligned whatever the file offset was.
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    } else {
      for (let i = 0; i < data.length; i++) {
        data[i] = dtype === "F32" ? view.getFloat32(dataStart + begin + 4 * i, true) : view.getInt32(dataStart + begin + 4 * i, true);
      }
    }
    tensors[name] = { dtype, shape: [...shape], data };
  }

  // Two tensors may not share bytes (empty tensors own none).
  ranges.sort((a, b) => a.begin - b.begin);
  let previous: { name: string; end: number } | null = null;
  for (const range of ranges) {
    if (range.begin === range.end) continue;
    if (previous && range.begin < previous.end) {
      refuse(`tensors "${previous.name}" and "${range.name}" overlap (bytes ${range.begin}–${previous.end})`);
    }
    previous = range;
  }
  return { tensors, metadata };
}

/**
 * The metadata of a safetensors file from its first bytes (the 8-byte length and the
 * JSON header; the tensors' data may be absent), so a list of files can be described
 * without reading them whole.
 */
export function safetensorsMetadata(head: Uint8Array): Metadata {
  if (head.length < 8) refuse(`file is ${head.length} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
  if (headerLength > BigInt(head.length - 8)) refuse(`header length ${headerLength} runs past the ${head.length - 8} bytes given`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(8, 8 + Number(headerLength))));
  } catch (error) {
    refuse(`header is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) refuse("header must be a JSON object");
  const entry = (header as Record<string, unknown>)[METADATA_KEY];
  const metadata: Metadata = {};
  if (entry === undefined) return metadata;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) refuse(`"${METADATA_KEY}" must be an object of strings`);
  for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof value !== "string") refuse(`metadata "${key}" must be a string, got ${JSON.stringify(value)}`);
    metadata[key] = value;
  }
  return metadata;
}

/**
 * Throws unless `tensors` has exactly the names, dtypes and shapes of `expected`,
 * listing every problem (missing, extra, mismatched) in one message.
 */
export function checkAgainstSpec(tensors: Record<string, TensorSpec>, expected: Record<string, TensorSpec>): void {
  const problems: string[] = [];
  const describe = (t: TensorSpec): string => `${t.dtype} ${shapeText(t.shape)}`;
  for (const [name, want] of Object.entries(expected)) {
    const got = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
    if (!got) {
      problems.push(`missing tensor "${name}" (expected ${describe(want)})`);
    } else if (got.dtype !== want.dtype || shapeText(got.shape) !== shapeText(want.shape)) {
      problems.push(`tensor "${name}" is ${describe(got)} but expected ${describe(want)}`);
    }
  }
  for (const [name, got] of Object.entries(tensors)) {
    if (!Object.hasOwn(expected, name)) problems.push(`unexpected tensor "${name}" (${describe(got)}) is not in the model`);
  }
  if (problems.length > 0) {
    throw new Error(`checkpoint does not match the model: ${problems.join("; ")}`);
  }
}
