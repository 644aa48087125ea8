/*
 * What the JavaScript side must agree on with this build: the register tile and the size of the
 * job descriptors (checked when the module is loaded, so a stale binary fails loudly).
 */
#include "common.h"
#include "jobs.h"

EXPORT(tile_rows) int32_t tile_rows(void) { return MR; }
EXPORT(tile_cols) int32_t tile_cols(void) { return NR; }
EXPORT(igemm_job_words) int32_t igemm_job_words(void) { return (int32_t)(sizeof(igemm_job) / 4); }
EXPORT(dw_job_words) int32_t dw_job_words(void) { return (int32_t)(sizeof(dw_job) / 4); }
EXPORT(ln_job_words) int32_t ln_job_words(void) { return (int32_t)(sizeof(ln_job) / 4); }
EXPORT(ln_grad_job_words) int32_t ln_grad_job_words(void) { return (int32_t)(sizeof(ln_grad_job) / 4); }
EXPORT(adam_job_words) int32_t adam_job_words(void) { return (int32_t)(sizeof(adam_job) / 4); }
