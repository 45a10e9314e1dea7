//===- ModelVerifier.cpp - whole-function checks of the model contract ---===//
//
// The per-attribute checks (a parameter without an init, a non-scalar loss,
// a malformed init) run in the dialect's argument/result verifiers, so any
// tool that parses IR sees them. What needs the whole function is here.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftDialect.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::weft;

func::FuncOp mlir::weft::getForward(ModuleOp module) {
  return module.lookupSymbol<func::FuncOp>("forward");
}

LogicalResult mlir::weft::verifyModel(ModuleOp module) {
  func::FuncOp fn = getForward(module);
  if (!fn) {
    // An implicit module has no line of its own: point at its first op.
    Block *body = module.getBody();
    Location loc = body->empty() ? module.getLoc() : body->front().getLoc();
    return emitError(loc)
           << "a Weft model must hold 'func.func @forward'; none was found";
  }
  if (fn.isExternal())
    return fn.emitError() << "@forward must have a body";

  bool ok = true;
  // name -> where it was first declared, across inputs and parameters.
  llvm::StringMap<Location> argNames;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    Location loc = fn.getArgument(i).getLoc();
    auto input = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kInput);
    auto param = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kParam);
    if (!input && !param) {
      emitError(loc) << "argument #" << i
                      << " of @forward is neither an input nor a parameter; "
                         "mark it {weft.input = \"name\"} or {weft.param = "
                         "\"name\", weft.init = {...}}";
      ok = false;
      continue;
    }
    StringRef name = input ? input.getValue() : param.getValue();
    auto [it, inserted] = argNames.try_emplace(name, loc);
    if (!inserted) {
      InFlightDiagnostic d = emitError(loc);
      d << "duplicate name '" << name << "' for argument #" << i
        << "; names of inputs and parameters must be unique";
      d.attachNote(it->second) << "'" << name << "' was first declared here";
      ok = false;
    }
    if (input) {
      auto t = llvm::dyn_cast<RankedTensorType>(fn.getArgumentTypes()[i]);
      if (!t || t.getRank() < 1) {
        emitError(loc) << "input '" << name << "' has type "
                       << fn.getArgumentTypes()[i]
                       << "; inputs need a batch dimension (dimension 0)";
        ok = false;
      }
    }
  }

  llvm::StringMap<unsigned> outNames;
  int losses = 0;
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    auto out = fn.getResultAttrOfType<StringAttr>(i, WeftDialect::kOutput);
    if (!out) {
      fn.emitError() << "result #" << i
                     << " of @forward has no name; mark it {weft.output = "
                        "\"name\"}";
      ok = false;
      continue;
    }
    auto [it, inserted] = outNames.try_emplace(out.getValue(), i);
    if (!inserted) {
      fn.emitError() << "duplicate output name '" << out.getValue()
                     << "' on results #" << it->second << " and #" << i;
      ok = false;
    }
    if (fn.getResultAttr(i, WeftDialect::kLoss))
      ++losses;
  }
  if (losses > 1) {
    fn.emitError() << losses
                   << " results are marked 'weft.loss'; at most one may be";
    ok = false;
  }
  return success(ok);
}
