//===- TestUtil.h - shared fixtures of the unit tests --------------------===//
#ifndef WEFT_TESTS_UNIT_TESTUTIL_H
#define WEFT_TESTS_UNIT_TESTUTIL_H

#include "compiler/pipelines/Registration.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace weft_test {

/// A context with Weft's dialects that records every diagnostic.
class WeftTest : public ::testing::Test {
protected:
  WeftTest() : ctx(makeRegistry()) {
    ctx.loadAllAvailableDialects();
    handler = std::make_unique<mlir::ScopedDiagnosticHandler>(
        &ctx, [this](mlir::Diagnostic &d) {
          diagnostics.push_back(d.str());
          for (mlir::Diagnostic &note : d.getNotes())
            diagnostics.push_back("note: " + note.str());
          return mlir::success();
        });
  }

  static mlir::DialectRegistry makeRegistry() {
    mlir::DialectRegistry r;
    mlir::weft::registerWeftDialects(r);
    return r;
  }

  mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string &text) {
    return mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  }

  /// True when some diagnostic contains `needle`.
  bool sawDiagnostic(const std::string &needle) const {
    for (const std::string &d : diagnostics)
      if (d.find(needle) != std::string::npos)
        return true;
    return false;
  }

  std::string allDiagnostics() const {
    std::string s;
    for (const std::string &d : diagnostics)
      s += d + "\n";
    return s;
  }

  mlir::MLIRContext ctx;
  std::vector<std::string> diagnostics;
  std::unique_ptr<mlir::ScopedDiagnosticHandler> handler;
};

} // namespace weft_test

#endif
