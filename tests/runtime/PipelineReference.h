// The model of PipelineArtifact.h on one device, written out by hand (plain
// loops, double accumulation): the oracle the pipeline tests compare with.
#ifndef WEFT_TESTS_RUNTIME_PIPELINEREFERENCE_H
#define WEFT_TESTS_RUNTIME_PIPELINEREFERENCE_H

#include <vector>

#include "PipelineArtifact.h"

namespace weft::testing {

struct PipelineReference {
  // Row-major W0 [3, 4], T [4, 4], W1 [4, 2], and their momentum buffers.
  std::vector<float> w0, t, w1, m0, mt, m1;
  int step = 0;
  float lr = 0.1f, momentum = 0.9f;

  // c [m, n] = a^T? [m, k] x b^T? [k, n], with a stored [k, m] when ta, b
  // stored [n, k] when tb.
  static std::vector<double> Mul(const std::vector<double> &a, const std::vector<double> &b, int m,
                                 int n, int k, bool ta, bool tb) {
    std::vector<double> c(m * n, 0.0);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j)
        for (int l = 0; l < k; ++l)
          c[i * n + j] += (ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
    return c;
  }
  static std::vector<double> D(const std::vector<float> &v) { return {v.begin(), v.end()}; }

  // One training step on the whole batch x [rows, 3]; returns the loss
  // before the update.
  double Step(const std::vector<float> &x, int rows) {
    const std::vector<double> X = D(x), W0 = D(w0), T = D(t), W1 = D(w1);
    const auto a = Mul(X, W0, rows, kHidden, kIn, false, false);
    const auto h = Mul(a, T, rows, kHidden, kHidden, false, false);
    const auto g = Mul(h, T, rows, kHidden, kHidden, false, false);
    const auto y = Mul(g, W1, rows, kOut, kHidden, false, false);
    double loss = 0;
    for (double v : y) loss += 0.5 * v * v;
    // dy = y.
    const auto dw1 = Mul(g, y, kHidden, kOut, rows, true, false);
    const auto dg = Mul(y, W1, rows, kHidden, kOut, false, true);
    auto dt = Mul(h, dg, kHidden, kHidden, rows, true, false);
    const auto dh = Mul(dg, T, rows, kHidden, kHidden, false, true);
    const auto dt0 = Mul(a, dh, kHidden, kHidden, rows, true, false);
    for (size_t i = 0; i < dt.size(); ++i) dt[i] += dt0[i];
    const auto da = Mul(dh, T, rows, kHidden, kHidden, false, true);
    const auto dw0 = Mul(X, da, kIn, kHidden, rows, true, false);
    ++step;
    Sgd(w0, m0, dw0);
    Sgd(t, mt, dt);
    Sgd(w1, m1, dw1);
    return loss;
  }

  // torch.optim.SGD with momentum: the buffer starts as the gradient.
  void Sgd(std::vector<float> &p, std::vector<float> &buf, const std::vector<double> &grad) const {
    buf.resize(p.size(), 0.0f);
    for (size_t i = 0; i < p.size(); ++i) {
      const double b = step == 1 ? grad[i] : momentum * static_cast<double>(buf[i]) + grad[i];
      buf[i] = static_cast<float>(b);
      p[i] = static_cast<float>(p[i] - lr * b);
    }
  }
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_RUNTIME_PIPELINEREFERENCE_H
