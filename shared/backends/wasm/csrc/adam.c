/*
 * One Adam step (Kingma & Ba 2015, Algorithm 1) of one variable in a single pass:
 *   m' = m * beta1 + g * (1 - beta1)
 *   v' = v * beta2 + g^2 * (1 - beta2)
 *   x' = (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon) * (-lr) + x
 * in tfjs's AdamOptimizer's order of float32 operations, each rounded as its own kernel would
 * round it, so the result is the stock optimizer's to the bit; stock tfjs runs these as about a
 * dozen whole-tensor kernels per variable, each allocating its output. No fused multiply-add
 * here, in any build variant: that would change the rounding.
 */
#pragma clang fp contract(off)
#include "common.h"
#include "jobs.h"

EXPORT(adam_run)
void adam_run(const adam_job *J) {
  const int32_t n = J->n;
  const int32_t n4 = n & ~3;
  const v128_t b1 = wasm_f32x4_splat(J->beta1), c1 = wasm_f32x4_splat(J->one_minus_beta1);
  const v128_t b2 = wasm_f32x4_splat(J->beta2), c2 = wasm_f32x4_splat(J->one_minus_beta2);
  const v128_t a1 = wasm_f32x4_splat(J->one_minus_acc_beta1), a2 = wasm_f32x4_splat(J->one_minus_acc_beta2);
  const v128_t eps = wasm_f32x4_splat(J->epsilon), nlr = wasm_f32x4_splat(J->neg_learning_rate);
  int32_t i = 0;
  for (; i < n4; i += 4) {
    const v128_t g = wasm_v128_load(J->g + i);
    const v128_t m = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(J->m + i), b1), wasm_f32x4_mul(g, c1));
    const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(J->v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(g, g), c2));
    wasm_v128_store(J->m_out + i, m);
    wasm_v128_store(J->v_out + i, v);
    const v128_t step = wasm_f32x4_div(wasm_f32x4_div(m, a1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(v, a2)), eps));
    wasm_v128_store(J->x_out + i, wasm_f32x4_add(wasm_f32x4_mul(step, nlr), wasm_v128_load(J->x + i)));
  }
  for (; i < n; i++) {
    const float g = J->g[i];
    const float m = J->m[i] * J->beta1 + g * J->one_minus_beta1;
    const float v = J->v[i] * J->beta2 + (g * g) * J->one_minus_beta2;
    J->m_out[i] = m;
    J->v_out[i] = v;
    const float step = (m / J->one_minus_acc_beta1) / (__builtin_sqrtf(v / J->one_minus_acc_beta2) + J->epsilon);
    J->x_out[i] = step * J->neg_learning_rate + J->x[i];
  }
}
