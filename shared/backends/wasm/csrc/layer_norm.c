/*
 * LayerNorm over the last axis, forward and gradient (ln_job, ln_grad_job in jobs.h). A row of c
 * channels stays in L1 between its passes, so the mean is taken first and the variance around it
 * (no E[x^2] - E[x]^2 cancellation in float32). Channels come 4 at a time, a scalar tail for
 * c % 4; rows are independent, so work items are blocks of rows.
 */
#include "common.h"
#include "jobs.h"

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

static void ln_rows(const ln_job *J, int32_t r0, int32_t r1) {
  const int32_t c = J->c;
  const int32_t c4 = c & ~3;
  const float inv_c = 1.0f / (float)c;
  for (int32_t r = r0; r < r1; r++) {
    const float *x = J->x + r * c;
    float *y = J->y + r * c;
    v128_t s = wasm_f32x4_const_splat(0.0f);
    int32_t i = 0;
    for (; i < c4; i += 4) s = wasm_f32x4_add(s, wasm_v128_load(x + i));
    float sum = hsum(s);
    for (; i < c; i++) sum += x[i];
    const float mu = sum * inv_c;
    const v128_t vmu = wasm_f32x4_splat(mu);
    v128_t q = wasm_f32x4_const_splat(0.0f);
    for (i = 0; i < c4; i += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(x + i), vmu);
      q = MADD(d, d, q);
    }
    float sq = hsum(q);
    for (; i < c; i++) sq += (x[i] - mu) * (x[i] - mu);
    const float rs = 1.0f / __builtin_sqrtf(sq * inv_c + J->eps);
    const v128_t vrs = wasm_f32x4_splat(rs);
    for (i = 0; i < c4; i += 4) {
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + i), vmu), vrs);
      wasm_v128_store(y + i, MADD(xh, wasm_v128_load(J->gamma + i), wasm_v128_load(J->beta + i)));
    }
    for (; i < c; i++) y[i] = (x[i] - mu) * rs * J->gamma[i] + J->beta[i];
    J->mean[r] = mu;
    J->rstd[r] = rs;
  }
}

EXPORT(layer_norm_run)
void layer_norm_run(const ln_job *J) {
  const int32_t items = (J->rows + J->rows_per_item - 1) / J->rows_per_item;
  for (int32_t t = next_item(J->counter); t < items; t = next_item(J->counter)) {
    const int32_t r0 = t * J->rows_per_item;
    ln_rows(J, r0, MIN(J->rows, r0 + J->rows_per_item));
  }
}

static void ln_grad_rows(const ln_grad_job *J, int32_t r0, int32_t r1, float *dgamma, float *dbeta) {
  const int32_t c = J->c;
  const int32_t c4 = c & ~3;
  const float inv_c = 1.0f / (float)c;
  for (int32_t i = 0; i < c; i++) dgamma[i] = dbeta[i] = 0.0f;
  for (int32_t r = r0; r < r1; r++) {
    const float *x = J->x + r * c;
    const float *dy = J->dy + r * c;
    float *dx = J->dx + r * c;
    const float mu = J->mean[r];
    const float rs = J->rstd[r];
    const v128_t vmu = wasm_f32x4_splat(mu);
    const v128_t vrs = wasm_f32x4_splat(rs);
    v128_t sg = wasm_f32x4_const_splat(0.0f);
    v128_t sgx = wasm_f32x4_const_splat(0.0f);
    int32_t i = 0;
    for (; i < c4; i += 4) {
      const v128_t d = wasm_v128_load(dy + i);
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + i), vmu), vrs);
      const v128_t g = wasm_f32x4_mul(d, wasm_v128_load(J->gamma + i));
      sg = wasm_f32x4_add(sg, g);
      sgx = MADD(g, xh, sgx);
      wasm_v128_store(dgamma + i, MADD(d, xh, wasm_v128_load(dgamma + i)));
      wasm_v128_store(dbeta + i, wasm_f32x4_add(d, wasm_v128_load(dbeta + i)));
    }
    float s1 = hsum(sg);
    float s2 = hsum(sgx);
    for (; i < c; i++) {
      const float xh = (x[i] - mu) * rs;
      const float g = dy[i] * J->gamma[i];
      s1 += g;
      s2 += g * xh;
      dgamma[i] += dy[i] * xh;
      dbeta[i] += dy[i];
    }
    const float m1 = s1 * inv_c;
    const float m2 = s2 * inv_c;
    const v128_t vm1 = wasm_f32x4_splat(m1);
    const v128_t vm2 = wasm_f32x4_splat(m2);
    for (i = 0; i < c4; i += 4) {
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + i), vmu), vrs);
      const v128_t g = wasm_f32x4_mul(wasm_v128_load(dy + i), wasm_v128_load(J->gamma + i));
      const v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(g, vm1), wasm_f32x4_mul(xh, vm2));
      wasm_v128_store(dx + i, wasm_f32x4_mul(vrs, t));
    }
    for (; i < c; i++) {
      const float xh = (x[i] - mu) * rs;
      dx[i] = rs * (dy[i] * J->gamma[i] - m1 - xh * m2);
    }
  }
}

EXPORT(layer_norm_grad_run)
void layer_norm_grad_run(const ln_grad_job *J) {
  const int32_t items = (J->rows + J->rows_per_item - 1) / J->rows_per_item;
  for (int32_t t = next_item(J->counter); t < items; t = next_item(J->counter)) {
    const int32_t r0 = t * J->rows_per_item;
    float *partial = J->partial + t * 2 * J->c;
    ln_grad_rows(J, r0, MIN(J->rows, r0 + J->rows_per_item), partial, partial + J->c);
  }
}
