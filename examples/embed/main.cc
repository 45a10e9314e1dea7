// A small application that embeds the Weft runtime: it loads a compiled
// model, initialises its parameters, feeds it a batch and prints the loss.
// It links weft_runtime only (no LLVM, no MLIR).
//
//   weftc examples/mlp.mlir -o mlp.weft
//   weft-embed-example mlp.weft
#include <cstdio>

#include "weft/runtime.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s model.weft\n", argv[0]);
    return 2;
  }
  auto runtime = weft::Runtime::Create({.backend = "cpu"});
  if (!runtime.ok()) {
    std::fprintf(stderr, "%s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  auto program = (*runtime)->Load(argv[1]);
  if (!program.ok()) {
    std::fprintf(stderr, "%s\n", std::string(program.status().message()).c_str());
    return 1;
  }
  weft::Program &model = **program;
  if (auto s = model.InitParameters(/*seed=*/42); !s.ok()) return 1;

  // A batch the application builds itself: every float input a ramp, every
  // integer input (ids, labels) counting up inside its valid range.
  std::map<std::string, weft::Tensor> batch;
  for (const weft::TensorInfo &in : model.inputs()) {
    weft::Tensor t(in.dtype, in.shape);
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if (in.dtype == weft::DType::kF32)
        t.data_as<float>()[i] = 0.01f * static_cast<float>(i % 100);
      else if (in.dtype == weft::DType::kI32)
        t.data_as<int32_t>()[i] = static_cast<int32_t>(i % (in.int_bound > 0 ? in.int_bound : 2));
    }
    batch[in.name] = t;
  }
  auto outputs = model.Run(batch);
  if (!outputs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(outputs.status().message()).c_str());
    return 1;
  }
  for (const weft::TensorInfo &out : model.outputs()) {
    const weft::Tensor &t = outputs->at(out.name);
    if (out.name == model.loss_output())
      std::printf("%s = %.6f\n", out.name.c_str(), t.data_as<float>()[0]);
    else
      std::printf("%s: %s\n", out.name.c_str(), t.DebugString().c_str());
  }
  std::printf("parameters: %zu tensors, %lld bytes; arena %lld bytes\n", model.parameters().size(),
              static_cast<long long>(model.parameter_bytes()),
              static_cast<long long>(model.arena_bytes()));
  return 0;
}
