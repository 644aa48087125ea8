/**
 * sRGB ↔ CIE L*a*b* (D65 white, 2° observer), as tensor ops for training and as scalar functions
 * for precomputation and tests. Formulas: IEC 61966-2-1 (sRGB transfer curve and primaries → XYZ
 * matrix) and CIE 15 (XYZ → Lab with the linear segment below (6/29)³). The same conversion as
 * scikit-image's rgb2lab/lab2rgb, which Zhang et al. 2016 used.
 *
 * Tensor functions take [..., 3] float32 (RGB in [0, 1]; L in [0, 100], a, b ≈ [−128, 127]), use
 * only elementwise ops, matMul and where (every backend), and are synchronous.
 */
import * as tf from '@tensorflow/tfjs-core';

/** D65 reference white (X_n, Y_n, Z_n), Y normalised to 1. */
export const D65 = [0.95047, 1.0, 1.08883] as const;

/** Linear sRGB → XYZ (rows X, Y, Z). */
export const RGB_TO_XYZ = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
] as const;

/** XYZ → linear sRGB (the inverse of RGB_TO_XYZ). */
export const XYZ_TO_RGB = [
  [3.2404542, -1.5371385, -0.4985314],
  [-0.969266, 1.8760108, 0.041556],
  [0.0556434, -0.2040259, 1.0572252],
] as const;

const DELTA = 6 / 29;

// ---------------------------------------------------------------------------------------------
// Scalar versions.
// ---------------------------------------------------------------------------------------------

const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const fromLinear = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const f = (t: number) => (t > DELTA ** 3 ? Math.cbrt(t) : t / (3 * DELTA * DELTA) + 4 / 29);
const fInv = (t: number) => (t > DELTA ? t ** 3 : 3 * DELTA * DELTA * (t - 4 / 29));

/** One sRGB colour in [0, 1]³ → [L, a, b]. */
export function rgbToLabScalar(r: number, g: number, b: number): [number, number, number] {
  const lin = [toLinear(r), toLinear(g), toLinear(b)];
  const [x, y, z] = RGB_TO_XYZ.map((row) => row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]);
  const fx = f(x / D65[0]);
  const fy = f(y / D65[1]);
  const fz = f(z / D65[2]);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** [L, a, b] → *linear* sRGB, unclipped (components outside [0, 1] mean out of gamut). */
export function labToLinearRgbScalar(L: number, a: number, b: number): [number, number, number] {
  const fy = (L + 16) / 116;
  const xyz = [D65[0] * fInv(fy + a / 500), D65[1] * fInv(fy), D65[2] * fInv(fy - b / 200)];
  return XYZ_TO_RGB.map((row) => row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2]) as [number, number, number];
}

/** [L, a, b] → sRGB in [0, 1]³ (clipped). */
export function labToRgbScalar(L: number, a: number, b: number): [number, number, number] {
  return labToLinearRgbScalar(L, a, b).map((c) => fromLinear(Math.min(1, Math.max(0, c)))) as [number, number, number];
}

// ---------------------------------------------------------------------------------------------
// Tensor versions.
// ---------------------------------------------------------------------------------------------

function mat3(x: tf.Tensor, m: readonly (readonly number[])[]): tf.Tensor {
  const shape = x.shape;
  const flat = tf.reshape(x, [-1, 3]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(flat, tf.tensor2d(m.map((r) => [...r]), [3, 3]), false, true), shape);
}

/** sRGB [..., 3] in [0, 1] → Lab [..., 3]. */
export function rgbToLab(rgb: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const c = tf.clipByValue(rgb, 0, 1);
    // pow of the (clipped, non-negative) input only, so the unused branch of `where` stays finite.
    const lin = tf.where(tf.lessEqual(c, 0.04045), tf.div(c, 12.92), tf.pow(tf.div(tf.add(c, 0.055), 1.055), 2.4));
    const xyz = tf.div(mat3(lin, RGB_TO_XYZ), tf.tensor1d([...D65]));
    const t = tf.maximum(xyz, 0);
    const ft = tf.where(tf.greater(t, DELTA ** 3), tf.pow(tf.maximum(t, 1e-12), 1 / 3), tf.add(tf.div(t, 3 * DELTA * DELTA), 4 / 29));
    const [fx, fy, fz] = tf.split(ft, 3, -1);
    return tf.concat([tf.sub(tf.mul(fy, 116), 16), tf.mul(tf.sub(fx, fy), 500), tf.mul(tf.sub(fy, fz), 200)], -1);
  });
}

/** Lab [..., 3] → sRGB [..., 3] in [0, 1] (out-of-gamut colours clipped). */
export function labToRgb(lab: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [L, a, b] = tf.split(lab, 3, -1);
    const fy = tf.div(tf.add(L, 16), 116);
    const fxyz = tf.concat([tf.add(fy, tf.div(a, 500)), fy, tf.sub(fy, tf.div(b, 200))], -1);
    const xyz = tf.mul(
      tf.where(tf.greater(fxyz, DELTA), tf.mul(fxyz, tf.square(fxyz)), tf.mul(tf.sub(fxyz, 4 / 29), 3 * DELTA * DELTA)),
      tf.tensor1d([...D65]),
    );
    const lin = tf.clipByValue(mat3(xyz, XYZ_TO_RGB), 0, 1);
    return tf.where(tf.lessEqual(lin, 0.0031308), tf.mul(lin, 12.92), tf.sub(tf.mul(tf.pow(tf.maximum(lin, 1e-12), 1 / 2.4), 1.055), 0.055));
  });
}
