//===- Generators.h - example models of any size -------------------------===//
//
// `weftc --generate=<kind>` prints these. The files in examples/ are their
// output at the small sizes given in examples/README.md.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_FRONTENDS_MODELS_GENERATORS_H
#define WEFT_FRONTENDS_MODELS_GENERATORS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace mlir::weft {

struct ModelSpec {
  std::string kind;     // mlp, lstm, bert or gpt
  int64_t layers = 2;   // blocks (transformers), LSTM layers, hidden layers (MLP)
  int64_t hidden = 64;  // model width
  int64_t heads = 8;    // attention heads (bert, gpt)
  int64_t vocab = 128;  // vocabulary (lstm, bert, gpt)
  int64_t seq = 32;     // sequence length; for lstm, the unrolled time steps
  int64_t batch = 8;
  int64_t ffn = 0;      // MLP width in a transformer block; 0 means 4 * hidden
  int64_t features = 64; // MLP input features
  int64_t classes = 16;  // MLP output classes
};

/// The model `spec` describes, or a message saying which field is wrong.
FailureOr<OwningOpRef<ModuleOp>> generateModel(MLIRContext *ctx,
                                               const ModelSpec &spec,
                                               std::string &error);

OwningOpRef<ModuleOp> generateMlp(MLIRContext *ctx, const ModelSpec &spec);
OwningOpRef<ModuleOp> generateLstm(MLIRContext *ctx, const ModelSpec &spec);
OwningOpRef<ModuleOp> generateBert(MLIRContext *ctx, const ModelSpec &spec);
OwningOpRef<ModuleOp> generateGpt(MLIRContext *ctx, const ModelSpec &spec);

} // namespace mlir::weft

#endif
