/**
 * Single-file safetensors export (https://github.com/huggingface/safetensors):
 *   8 bytes  u64 little-endian N = header length
 *   N bytes  UTF-8 JSON { "<name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }, "__metadata__": { str: str } }
 *            padded with spaces so the data starts 8-byte aligned
 *   …        the tensors' bytes, back to back; offsets are relative to the start of this section
 */
import type { WeightMap } from '../../shared/weights/weight-map';

export function encodeSafetensors(weights: WeightMap, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of weights) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  const padded = (8 + raw.length + 7) & ~7;
  json += ' '.repeat(padded - 8 - raw.length);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of weights.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Reads a safetensors file of F32 tensors (used by tests and tools). */
export function decodeSafetensors(bytes: Uint8Array): { weights: WeightMap; metadata: Record<string, string> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const weights: WeightMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = e as unknown as Record<string, string>;
      continue;
    }
    if (e.dtype !== 'F32') throw new Error(`unsupported dtype ${e.dtype}`);
    const slice = bytes.slice(base + e.data_offsets[0], base + e.data_offsets[1]);
    weights.set(name, { shape: e.shape, data: new Float32Array(slice.buffer) });
  }
  return { weights, metadata };
}
