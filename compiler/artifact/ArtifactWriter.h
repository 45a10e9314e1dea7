//===- ArtifactWriter.h - a lowered module to a .weft artifact -----------===//
#ifndef WEFT_COMPILER_ARTIFACT_ARTIFACTWRITER_H
#define WEFT_COMPILER_ARTIFACT_ARTIFACTWRITER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::weft {

struct ArtifactOptions {
  /// "cpu": the instruction list alone; "cuda": also the generated CUDA
  /// kernels of its fused programs, compiled by NVRTC for `cudaArch` (SASS)
  /// and its compute capability (PTX), in the artifact's `kernels`.
  std::string target = "cpu";
  std::string cudaArch = "sm_90";
};

/// Whether this weftc can write --target=cuda (it was built with NVRTC).
bool haveCudaTarget();

/// The module attribute weftc --precision sets: "f32" (also when absent) or
/// "bf16", which marks every Matmul, Attention and AttentionGrad instruction
/// bf16_inputs (autocast; see runtime/artifact/artifact.fbs).
inline constexpr llvm::StringLiteral kPrecisionAttr = "weft.precision";

/// --precision's names, "f32" and "bf16", and the line that describes each
/// (runtime/artifact/precision.h: weft-dump prints the same).
bool isPrecision(StringRef precision);
std::string precisionSummary(StringRef precision);

/// Serialises a module that went through the lowering pipeline (fused
/// regions, a memory plan) into the artifact format of
/// runtime/artifact/artifact.fbs: the value table, the instruction list, the
/// constants and the interface (inputs, parameters, outputs). Ops the
/// backend cannot run are reported at their location.
LogicalResult writeArtifact(ModuleOp module, StringRef source,
                            llvm::raw_ostream &os,
                            const ArtifactOptions &options = {});

/// A pipeline-parallel artifact: one module per pp rank (weft-pipeline with
/// rank = 0 .. P-1, each lowered), their @train_step each a RankProgram.
LogicalResult writePipelineArtifact(ArrayRef<ModuleOp> ranks, StringRef source,
                                    llvm::raw_ostream &os,
                                    const ArtifactOptions &options = {});

} // namespace mlir::weft

#endif
