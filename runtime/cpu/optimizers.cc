#include "runtime/cpu/optimizers.h"

#include <cmath>

namespace weft::cpu {

void SgdUpdate(const float *param, const float *grad, const float *buf, float step,
               float *new_param, float *new_buf, int64_t n, float lr, float momentum,
               float weight_decay) {
  const bool first = step <= 1.0f;  // torch: the buffer starts as the gradient
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + weight_decay * param[i];
    const float b = first ? g : momentum * buf[i] + g;
    new_buf[i] = b;
    new_param[i] = param[i] - lr * b;
  }
}

void AdamwUpdate(const float *param, const float *grad, const float *m, const float *v,
                 float step, float *new_param, float *new_m, float *new_v, int64_t n, float lr,
                 float beta1, float beta2, float eps, float weight_decay) {
  // Bias corrections in double, once per tensor, as torch computes them.
  const float c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta1), step));
  const float c2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(beta2), step)));
  const float step_size = lr / c1;
  const float decay = 1.0f - lr * weight_decay;
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    new_m[i] = mi;
    new_v[i] = vi;
    new_param[i] = param[i] * decay - step_size * mi / (std::sqrt(vi) / c2_sqrt + eps);
  }
}

}  // namespace weft::cpu
