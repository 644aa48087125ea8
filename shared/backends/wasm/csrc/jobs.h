/*
 * The job descriptors JavaScript writes into memory (as consecutive 32-bit words, in field
 * order) before calling a kernel; shared/backends/wasm/simd/jobs.ts mirrors them. Pointers are
 * byte addresses in the imported memory.
 */
#ifndef GLIMPSE_JOBS_H
#define GLIMPSE_JOBS_H

#include <stdint.h>

/*
 * A convolution as an implicit GEMM (IGEMM): output row (n, oy, ox) of the output grid,
 * column j < cout, is
 *   bias[j] + sum over taps (ty, tx) and c < cin of x[n, oy*sh - pt + ty, ox*sw - pl + tx, c] * B[(ty*tw + tx)*cin + c][j]
 * with x read as zero outside [0, h) x [0, w), optionally followed by ReLU. It is stored at
 *   out + ((n*dh + oy*dsy + doy)*dw + ox*dsx + dox)*cout,
 * so a sub-pixel phase of a transposed convolution writes its interleaved positions directly.
 */
typedef struct {
  const float *x;
  int32_t n, h, w, cin;
  int32_t th, tw, sh, sw, pt, pl;
  int32_t oh, ow;
  /* B packed by pack_filter: [ceil(cout / NR)][th * tw * cin][NR], zero-padded columns. */
  const float *wpack;
  const float *bias; /* [cout], or 0 for none */
  int32_t relu;
  float *out;
  int32_t cout;
  int32_t dh, dw, dsy, doy, dsx, dox;
  const float *zero; /* at least cin zeros: the input of taps that fall into the padding */
  int32_t *counter;  /* next work item (a tile of MR output rows); 0 before the first thread starts */
} igemm_job;

/*
 * The filter gradient of a convolution (NHWC x [n, h, w, cin], dy [n, oh, ow, cout]):
 *   dw[ky, kx, c, j] = sum over n, oy, ox of x[n, oy*sh - pt + ky, ox*sw - pl + kx, c] * dy[n, oy, ox, j]
 * Work items are `groups` contiguous ranges of the kh * kw * ceil(cin / MR) row tiles of dw.
 */
typedef struct {
  const float *x;
  int32_t n, h, w, cin;
  const float *dy;
  int32_t oh, ow, cout;
  int32_t kh, kw, sh, sw, pt, pl;
  float *dw;
  int32_t rows_per_block; /* output rows (n, oy) whose x and dy stay in cache while every tile of an item passes over them */
  int32_t groups;
  int32_t *counter;
} dw_job;

/*
 * LayerNorm over the last axis of x [rows, c] (Ba et al. 2016): y = (x - mean) * rstd * gamma + beta,
 * rstd = 1 / sqrt(var + eps), mean and rstd saved per row for the gradient. Work items are
 * blocks of rows_per_item rows.
 */
typedef struct {
  const float *x;
  const float *gamma;
  const float *beta;
  float *y;
  float *mean;
  float *rstd;
  int32_t rows, c;
  float eps;
  int32_t rows_per_item;
  int32_t *counter;
} ln_job;

/*
 * The LayerNorm gradient: with g = dy * gamma and xhat = (x - mean) * rstd,
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
 * and per work item (rows_per_item rows) the partial sums partial[item] = [sum dy * xhat | sum dy]
 * (2c floats), which the caller adds up into dgamma and dbeta.
 */
typedef struct {
  const float *dy;
  const float *x;
  const float *gamma;
  const float *mean;
  const float *rstd;
  float *dx;
  float *partial;
  int32_t rows, c;
  int32_t rows_per_item;
  int32_t *counter;
} ln_grad_job;

/*
 * One Adam step of one variable (adam.c): x, m, v, g in; x', m', v' out, n floats each (the
 * outputs may not overlap the inputs). The scalars are float32 as tfjs's AdamOptimizer computes
 * them; the 1 - beta^t terms come from its accumulated-beta variables.
 */
typedef struct {
  const float *x;
  const float *m;
  const float *v;
  const float *g;
  float *x_out;
  float *m_out;
  float *v_out;
  int32_t n;
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float one_minus_acc_beta1, one_minus_acc_beta2;
  float epsilon, neg_learning_rate;
} adam_job;

#endif
