//===- weft-opt.cpp - the mlir-opt of Weft -------------------------------===//
//
// Every dialect and pass Weft uses, with MLIR's usual flags
// (--split-input-file, --verify-diagnostics, --mlir-print-ir-after-all, ...).
//
//===----------------------------------------------------------------------===//
#include "compiler/pipelines/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::weft::registerWeftDialects(registry);
  mlir::weft::registerAllWeftPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Weft optimizer driver\n", registry));
}
