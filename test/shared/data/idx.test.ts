import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx, isGzip, parseIdx, toLabeledImages } from '../../../shared/data/idx';

/** A hand-written uint8 [2, 2, 3] file. */
const UINT8_2x2x3 = Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, ...Array.from({ length: 12 }, (_, i) => i * 20)]);

describe('parseIdx', () => {
  it('parses a hand-written uint8 file', () => {
    const a = parseIdx(UINT8_2x2x3);
    expect(a.dtype).toBe('uint8');
    expect(a.dims).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 12 }, (_, i) => i * 20));
  });

  it('returns a copy, not a view into the file buffer', () => {
    const bytes = UINT8_2x2x3.slice();
    const a = parseIdx(bytes);
    bytes[16] = 99;
    expect(a.data[0]).toBe(0);
    expect(a.data.byteOffset).toBe(0);
  });

  it('reads big-endian multi-byte types', () => {
    // int16 [2]: 0x0102 = 258, 0xfffe = -2
    expect(Array.from(parseIdx(Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 2, 1, 2, 0xff, 0xfe])).data)).toEqual([258, -2]);
    // float32 [1]: 0x3fc00000 = 1.5
    expect(Array.from(parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0])).data)).toEqual([1.5]);
  });

  it.each([
    ['uint8', Uint8Array.from([0, 7, 255])],
    ['int8', Int8Array.from([-128, 0, 127])],
    ['int16', Int16Array.from([-30000, 1, 30000])],
    ['int32', Int32Array.from([-2e9, 5, 2e9])],
    ['float32', Float32Array.from([-1.25, 0, 3.5])],
    ['float64', Float64Array.from([Math.PI, -1e300, 0])],
  ] as const)('round-trips %s through encodeIdx', (dtype, data) => {
    const back = parseIdx(encodeIdx({ dtype, dims: [3, 1], data }));
    expect(back).toEqual({ dtype, dims: [3, 1], data });
  });

  it('parses a subarray view with a non-zero byteOffset', () => {
    const padded = new Uint8Array(UINT8_2x2x3.length + 5);
    padded.set(UINT8_2x2x3, 5);
    expect(parseIdx(padded.subarray(5)).dims).toEqual([2, 2, 3]);
  });

  describe('errors', () => {
    it('rejects gzip input with a hint', () => {
      const gz = gzipSync(UINT8_2x2x3);
      expect(isGzip(gz)).toBe(true);
      expect(() => parseIdx(gz, 'x.gz')).toThrow(/x\.gz: data is gzip-compressed/);
    });
    it('rejects a buffer shorter than the header', () => {
      expect(() => parseIdx(Uint8Array.from([0, 0, 8]))).toThrow(/too short/);
    });
    it('rejects a bad magic', () => {
      expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]))).toThrow(/bad IDX magic.*01 00/);
    });
    it('rejects an unknown type byte', () => {
      expect(() => parseIdx(Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]))).toThrow(/unknown IDX type byte 0a/);
    });
    it('rejects zero dimensions', () => {
      expect(() => parseIdx(Uint8Array.from([0, 0, 8, 0]))).toThrow(/0 dimensions/);
    });
    it('rejects a truncated header', () => {
      expect(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]))).toThrow(/truncated IDX header/);
    });
    it('rejects truncated data', () => {
      expect(() => parseIdx(UINT8_2x2x3.subarray(0, UINT8_2x2x3.length - 1))).toThrow(/truncated IDX data.*need 12 bytes, found 11/);
    });
    it('rejects trailing bytes', () => {
      expect(() => parseIdx(Uint8Array.from([...UINT8_2x2x3, 0]))).toThrow(/1 trailing bytes/);
    });
    it('rejects multi-byte data whose length does not match', () => {
      expect(() => parseIdx(Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 0, 1]))).toThrow(/need 8 bytes, found 4/);
    });
    it('encodeIdx rejects data that does not match dims', () => {
      expect(() => encodeIdx({ dtype: 'uint8', dims: [2, 2], data: new Uint8Array(3) })).toThrow(/need 4 elements/);
    });
  });
});

describe('toLabeledImages', () => {
  const images = parseIdx(UINT8_2x2x3);
  const labels = { dtype: 'uint8' as const, dims: [2], data: Uint8Array.from([1, 0]) };

  it('pairs matching files', () => {
    expect(toLabeledImages(images, labels, 'src', 10)).toMatchObject({ count: 2, height: 2, width: 3 });
  });
  it('rejects mismatched counts, wrong ranks/types and out-of-range labels', () => {
    expect(() => toLabeledImages(images, { ...labels, dims: [3], data: new Uint8Array(3) }, 'src')).toThrow(/src: 2 images but 3 labels/);
    expect(() => toLabeledImages(labels, labels, 'src')).toThrow(/images must be uint8 \[N, H, W\]/);
    expect(() => toLabeledImages(images, { ...labels, dtype: 'int32', data: Int32Array.from([1, 0]) }, 'src')).toThrow(/labels must be uint8/);
    expect(() => toLabeledImages(images, labels, 'src', 1)).toThrow(/label 1 at index 0 is not < 1/);
  });
});
