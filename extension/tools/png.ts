/**
 * A minimal PNG encoder (8-bit RGB or RGBA, no interlace) for Node: the build's icons and the
 * e2e test's pages. zlib does the compression.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  out.set(data, 8);
  out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** PNG bytes of a width × height image; `pixels` is row-major with `channels` (3 or 4) bytes each. */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 3 | 4 = 3): Buffer {
  if (pixels.length !== width * height * channels) throw new Error('encodePng: pixel count does not match the size');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Transparent margin around the icon's art: Chrome's guidance is 16 px of 128; toolbar sizes keep 1–2 px. */
export function iconPadding(size: number): number {
  return size >= 128 ? Math.round(size / 8) : Math.max(1, Math.round(size / 16));
}

/**
 * The Glimpse icon at `size` px: an eye seen head-on — a blue disc inset by {@link iconPadding}
 * on a transparent square, a white iris ring and a blue pupil. Three bands only, each at least
 * 2 px wide at 16 px, so it stays legible in the toolbar; each pixel is 4×4-supersampled for
 * smooth edges.
 */
export function iconPng(size: number): Buffer {
  const px = new Uint8Array(size * size * 4);
  const c = size / 2;
  const r = size / 2 - iconPadding(size);
  // The white ring's inner and outer radius, as fractions of the disc's.
  const [ringIn, ringOut] = [0.36, 0.7];
  const S = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let disc = 0;
      let white = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const d = Math.hypot(x + (sx + 0.5) / S - c, y + (sy + 0.5) / S - c) / r;
          if (d > 1) continue;
          disc++;
          if (d > ringIn && d < ringOut) white++;
        }
      }
      const a = disc / (S * S);
      const w = disc ? white / disc : 0;
      const mix = (blue: number) => Math.round(blue + (255 - blue) * w);
      px.set([mix(11), mix(87), mix(208), Math.round(a * 255)], (y * size + x) * 4);
    }
  }
  return encodePng(size, size, px, 4);
}
