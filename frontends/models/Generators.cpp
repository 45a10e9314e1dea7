//===- Generators.cpp - checks a ModelSpec and dispatches on its kind ----===//
#include "frontends/models/Generators.h"

using namespace mlir;
using namespace mlir::weft;

FailureOr<OwningOpRef<ModuleOp>>
mlir::weft::generateModel(MLIRContext *ctx, const ModelSpec &s,
                          std::string &error) {
  auto positive = [&](const char *name, int64_t v) {
    if (v > 0)
      return true;
    error = std::string("--") + name + " must be positive, got " +
            std::to_string(v);
    return false;
  };
  if (!positive("layers", s.layers) || !positive("hidden", s.hidden) ||
      !positive("batch", s.batch) || !positive("seq", s.seq) ||
      !positive("vocab", s.vocab) || !positive("heads", s.heads) ||
      !positive("features", s.features) || !positive("classes", s.classes))
    return failure();
  if (s.ffn < 0) {
    error = "--ffn must be 0 (4 x hidden) or positive, got " + std::to_string(s.ffn);
    return failure();
  }
  if (s.kind == "mlp")
    return generateMlp(ctx, s);
  if (s.kind == "lstm")
    return generateLstm(ctx, s);
  if (s.kind == "bert" || s.kind == "gpt") {
    if (s.hidden % s.heads != 0) {
      error = "--hidden=" + std::to_string(s.hidden) +
              " is not divisible by --heads=" + std::to_string(s.heads);
      return failure();
    }
    return s.kind == "gpt" ? generateGpt(ctx, s) : generateBert(ctx, s);
  }
  error = "unknown model kind '" + s.kind + "'; expected mlp, lstm, bert or gpt";
  return failure();
}
