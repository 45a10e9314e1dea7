// The fused optimizer updates, the twins of cpu::SgdUpdate and
// cpu::AdamwUpdate (torch.optim's semantics), one thread per element.
// `step` is read on the device (the artifact's step counter is a tensor).
// Outputs may alias inputs: each element is read before it is written.
//
// Correctness first: every thread recomputes AdamW's bias corrections in
// double. The fast one should compute them once (a tiny kernel, or the
// executor on the host with the counter mirrored there), use vectorised
// 16-byte loads, and update many tensors in one multi-tensor launch.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_OPTIMIZERS_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_OPTIMIZERS_CUH

#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

__global__ void SgdUpdateKernel(const float *param, const float *grad, const float *buf,
                                const float *step, float *new_param, float *new_buf, int64_t n,
                                float lr, float momentum, float weight_decay) {
  const bool first = *step <= 1.0f;  // torch: the buffer starts as the gradient
  for (int64_t i = FirstItem(); i < n; i += ItemStride()) {
    const float g = grad[i] + weight_decay * param[i];
    const float b = first ? g : momentum * buf[i] + g;
    new_buf[i] = b;
    new_param[i] = param[i] - lr * b;
  }
}

template <typename Launch>
void SgdUpdateRun(const Launch &launch, const float *param, const float *grad, const float *buf,
                  const float *step, float *new_param, float *new_buf, int64_t n, float lr,
                  float momentum, float weight_decay) {
  launch(SgdUpdateKernel, n, param, grad, buf, step, new_param, new_buf, n, lr, momentum,
         weight_decay);
}

__global__ void AdamwUpdateKernel(const float *param, const float *grad, const float *m,
                                  const float *v, const float *step, float *new_param,
                                  float *new_m, float *new_v, int64_t n, float lr, float beta1,
                                  float beta2, float eps, float weight_decay) {
  // Bias corrections in double, as torch (and the CPU kernel) computes them.
  const double t = *step;
  const float c1 = static_cast<float>(1.0 - pow(static_cast<double>(beta1), t));
  const float c2_sqrt = static_cast<float>(sqrt(1.0 - pow(static_cast<double>(beta2), t)));
  const float step_size = lr / c1;
  const float decay = 1.0f - lr * weight_decay;
  for (int64_t i = FirstItem(); i < n; i += ItemStride()) {
    const float g = grad[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    new_m[i] = mi;
    new_v[i] = vi;
    new_param[i] = param[i] * decay - step_size * mi / (sqrtf(vi) / c2_sqrt + eps);
  }
}

template <typename Launch>
void AdamwUpdateRun(const Launch &launch, const float *param, const float *grad, const float *m,
                    const float *v, const float *step, float *new_param, float *new_m,
                    float *new_v, int64_t n, float lr, float beta1, float beta2, float eps,
                    float weight_decay) {
  launch(AdamwUpdateKernel, n, param, grad, m, v, step, new_param, new_m, new_v, n, lr, beta1,
         beta2, eps, weight_decay);
}

}  // namespace weft::cuda::kernels

#endif
