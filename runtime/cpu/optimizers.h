// Fused optimizer updates: one pass over a parameter, its gradient and its
// state, written in place. Semantics are torch.optim's (see WeftOps.td).
#ifndef WEFT_RUNTIME_CPU_OPTIMIZERS_H
#define WEFT_RUNTIME_CPU_OPTIMIZERS_H

#include <cstdint>

namespace weft::cpu {

/// `step` is the 1-based number of this update. Outputs may alias inputs.
void SgdUpdate(const float *param, const float *grad, const float *buf, float step,
               float *new_param, float *new_buf, int64_t n, float lr, float momentum,
               float weight_decay);

void AdamwUpdate(const float *param, const float *grad, const float *m, const float *v,
                 float step, float *new_param, float *new_m, float *new_v, int64_t n, float lr,
                 float beta1, float beta2, float eps, float weight_decay);

}  // namespace weft::cpu

#endif
