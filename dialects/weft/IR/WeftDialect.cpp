//===- WeftDialect.cpp - the dialect and its argument/result markers -----===//
//
// The markers of the IR contract (weft.input, weft.param, weft.init,
// weft.output, weft.loss) are checked here, where each is attached. Checks
// that need the whole function (every argument marked, names unique) are in
// ModelVerifier.cpp.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::weft;

#include "dialects/weft/IR/WeftDialect.cpp.inc"

void WeftDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/weft/IR/WeftOps.cpp.inc"
      >();
}

Operation *WeftDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = llvm::dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}

namespace {

// Where to point at: the argument itself when the function has a body.
Location argLoc(Operation *op, unsigned argIndex) {
  if (auto fn = llvm::dyn_cast<FunctionOpInterface>(op))
    if (!fn.isExternal() && argIndex < fn.getNumArguments())
      return fn.getArgument(argIndex).getLoc();
  return op->getLoc();
}

LogicalResult verifyName(Location loc, NamedAttribute attr, StringRef what) {
  auto name = llvm::dyn_cast<StringAttr>(attr.getValue());
  if (!name || name.getValue().empty())
    return emitError(loc) << "'" << attr.getName().getValue()
                          << "' must be a non-empty string naming the " << what
                          << ", got " << attr.getValue();
  return success();
}

std::optional<double> floatField(DictionaryAttr dict, StringRef key) {
  if (auto f = dict.getAs<FloatAttr>(key))
    return f.getValueAsDouble();
  if (auto i = dict.getAs<IntegerAttr>(key))
    return static_cast<double>(i.getInt());
  return std::nullopt;
}

// weft.init = {dist = "normal", mean = 0.0 : f32, std = 0.02 : f32}, etc.
LogicalResult verifyInit(Location loc, Attribute attr) {
  auto dict = llvm::dyn_cast<DictionaryAttr>(attr);
  if (!dict)
    return emitError(loc) << "'weft.init' must be a dictionary such as "
                             "{dist = \"normal\", std = 0.02 : f32}, got "
                          << attr;
  auto dist = dict.getAs<StringAttr>("dist");
  if (!dist)
    return emitError(loc) << "'weft.init' needs a string field 'dist' (zeros, "
                             "ones, normal or uniform), got "
                          << attr;
  StringRef d = dist.getValue();
  SmallVector<StringRef> allowed;
  if (d == "zeros" || d == "ones")
    allowed = {};
  else if (d == "normal")
    allowed = {"mean", "std"};
  else if (d == "uniform")
    allowed = {"low", "high"};
  else
    return emitError(loc) << "'weft.init' has unknown dist \"" << d
                          << "\"; expected zeros, ones, normal or uniform";
  for (NamedAttribute field : dict) {
    StringRef key = field.getName().getValue();
    if (key == "dist")
      continue;
    if (!llvm::is_contained(allowed, key))
      return emitError(loc) << "'weft.init' field '" << key
                            << "' does not apply to dist \"" << d << "\"";
    if (!floatField(dict, key))
      return emitError(loc) << "'weft.init' field '" << key
                            << "' must be a number, got " << field.getValue();
  }
  if (d == "normal") {
    std::optional<double> std = floatField(dict, "std");
    if (!std || *std <= 0)
      return emitError(loc) << "'weft.init' with dist \"normal\" needs a "
                               "positive 'std'";
  }
  if (d == "uniform") {
    std::optional<double> lo = floatField(dict, "low"),
                          hi = floatField(dict, "high");
    if (!lo || !hi || !(*lo < *hi))
      return emitError(loc) << "'weft.init' with dist \"uniform\" needs "
                               "'low' < 'high'";
  }
  return success();
}

} // namespace

LogicalResult WeftDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                    unsigned argIndex,
                                                    NamedAttribute attr) {
  Location loc = argLoc(op, argIndex);
  StringRef key = attr.getName().getValue();
  auto fn = llvm::dyn_cast<FunctionOpInterface>(op);
  auto has = [&](StringRef other) {
    return fn && fn.getArgAttr(argIndex, other);
  };
  if (key == kInput) {
    if (has(kParam))
      return emitError(loc) << "argument #" << argIndex
                            << " is marked both 'weft.input' and 'weft.param'";
    return verifyName(loc, attr, "input");
  }
  if (key == kParam) {
    if (failed(verifyName(loc, attr, "parameter")))
      return failure();
    if (!has(kInit))
      return emitError(loc)
             << "parameter '" << llvm::cast<StringAttr>(attr.getValue()).str()
             << "' (argument #" << argIndex
             << ") has no 'weft.init'; add e.g. weft.init = {dist = "
                "\"normal\", std = 0.02 : f32}";
    return success();
  }
  if (key == "weft.global_shape") {
    // weft-partition-batch: the shape before the split, for the runtime.
    if (!llvm::isa<DenseI64ArrayAttr>(attr.getValue()))
      return emitError(loc) << "'weft.global_shape' must be an array<i64: ...>";
    return success();
  }
  if (key == "weft.split_dim") {
    // weft-partition-tensor: the dimension of the global parameter each
    // device holds a 1/tp slice of.
    if (!llvm::isa<IntegerAttr>(attr.getValue()))
      return emitError(loc) << "'weft.split_dim' must be an integer";
    return success();
  }
  if (key == "weft.sharding_reason") {
    // weft-partition-annotated: why the argument has its sharding, for --explain.
    if (!llvm::isa<StringAttr>(attr.getValue()))
      return emitError(loc) << "'weft.sharding_reason' must be a string";
    return success();
  }
  if (key == "weft.sharding") {
    // A user annotation (weft-partition-annotated): "dp:0,tp:1" or "replicated".
    if (!llvm::isa<StringAttr>(attr.getValue()))
      return emitError(loc) << "'weft.sharding' must be a string such as \"tp:1\" or \"dp:0,tp:1\"";
    return success();
  }
  if (key == "weft.split_groups") {
    // weft-partition-tensor: split_dim viewed as [groups, n / groups], the
    // inner one split (an LSTM's gates).
    auto groups = llvm::dyn_cast<IntegerAttr>(attr.getValue());
    if (!groups || groups.getInt() < 1 || !has("weft.split_dim"))
      return emitError(loc) << "'weft.split_groups' must be a positive integer beside 'weft.split_dim'";
    return success();
  }
  if (key == "weft.zero_slice") {
    // weft-optimizer, ZeRO-1: optimizer state that is this device's flat 1/dp
    // slice of its (local) parameter's elements.
    if (!llvm::isa<UnitAttr>(attr.getValue()) || !has("weft.state"))
      return emitError(loc) << "'weft.zero_slice' must be a unit attribute on a 'weft.state' argument";
    return success();
  }
  if (key == "weft.state") {
    // Optimizer state (weft-optimizer): named and initialised like a parameter.
    if (failed(verifyName(loc, attr, "state")))
      return failure();
    if (!has(kInit))
      return emitError(loc) << "state argument #" << argIndex << " has no 'weft.init'";
    return success();
  }
  if (key == kInit) {
    if (!has(kParam) && !has("weft.state"))
      return emitError(loc) << "'weft.init' on argument #" << argIndex
                            << ", which is not a 'weft.param'";
    return verifyInit(loc, attr.getValue());
  }
  return emitError(loc) << "unknown weft argument attribute '" << key
                        << "'; expected weft.input, weft.param or weft.init";
}

LogicalResult WeftDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                       unsigned resultIndex,
                                                       NamedAttribute attr) {
  StringRef key = attr.getName().getValue();
  if (key == kOutput)
    return verifyName(op->getLoc(), attr, "output");
  if (key == kLoss) {
    if (!llvm::isa<UnitAttr>(attr.getValue()))
      return op->emitError() << "'weft.loss' is a unit attribute; write it "
                                "as {weft.loss}";
    auto fn = llvm::dyn_cast<FunctionOpInterface>(op);
    if (fn) {
      Type t = fn.getResultTypes()[resultIndex];
      auto rt = llvm::dyn_cast<RankedTensorType>(t);
      if (!rt || rt.getRank() != 0 || !rt.getElementType().isF32())
        return op->emitError()
               << "'weft.loss' marks result #" << resultIndex << " of type "
               << t << "; the loss must be a scalar tensor<f32>";
    }
    return success();
  }
  // Results of @train_step: gradients (weft-autodiff) and the new values of
  // parameters and optimizer state (weft-optimizer).
  if (key == "weft.global_shape")
    return success(llvm::isa<DenseI64ArrayAttr>(attr.getValue()));
  // A tensor-parallel output (vocabulary-parallel logits): split along this
  // dimension over tp.
  if (key == "weft.split_dim")
    return success(llvm::isa<IntegerAttr>(attr.getValue()));
  if (key == "weft.grad")
    return verifyName(op->getLoc(), attr, "parameter it is the gradient of");
  if (key == "weft.update")
    return verifyName(op->getLoc(), attr, "parameter or state it updates");
  // A tied weight's gradient on a pipeline rank that does not count it in
  // the global norm (its first holder does): weft-pipeline, weft-optimizer.
  if (key == "weft.norm_counted_elsewhere")
    return success(llvm::isa<UnitAttr>(attr.getValue()));
  return op->emitError() << "unknown weft result attribute '" << key
                         << "'; expected weft.output or weft.loss";
}
