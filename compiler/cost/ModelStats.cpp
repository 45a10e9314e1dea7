//===- ModelStats.cpp ----------------------------------------------------===//
#include "compiler/cost/ModelStats.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"

#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::weft;

static std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

static TensorInfo info(StringRef name, Type t) {
  auto rt = llvm::cast<RankedTensorType>(t);
  return {name.str(), typeStr(t), rt.getNumElements(), tensorBytes(t)};
}

ModelStats mlir::weft::computeModelStats(func::FuncOp fn) {
  ModelStats s;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    Type t = fn.getArgumentTypes()[i];
    if (auto n = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kInput))
      s.inputs.push_back(info(n.getValue(), t));
    if (auto n = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kParam)) {
      s.params.push_back(info(n.getValue(), t));
      s.paramCount += s.params.back().elements;
      s.paramBytes += s.params.back().bytes;
    }
  }
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    auto n = fn.getResultAttrOfType<StringAttr>(i, WeftDialect::kOutput);
    s.outputs.push_back(info(n ? n.getValue() : "", fn.getResultTypes()[i]));
    if (n && fn.getResultAttr(i, WeftDialect::kLoss))
      s.loss = n.getValue().str();
  }
  fn.walk([&](CostOpInterface op) {
    ++s.ops;
    s.forwardFlops += op.getFlops();
    s.forwardBytes += op.getBytesAccessed();
  });
  return s;
}

// 124439808 -> "124,439,808"
static std::string grouped(int64_t v) {
  std::string digits = std::to_string(v), out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-')
      out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return out;
}

static std::string human(double v, const char *unit) {
  const char *prefixes[] = {"", "K", "M", "G", "T", "P", "E"};
  int i = 0;
  while (v >= 1000 && i < 6) {
    v /= 1000;
    ++i;
  }
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%.2f %s%s", v, prefixes[i], unit);
  return s;
}

void mlir::weft::printModelStats(const ModelStats &s, llvm::raw_ostream &os) {
  auto list = [&](const char *title, const std::vector<TensorInfo> &ts) {
    os << title << "\n";
    for (const TensorInfo &t : ts)
      os << "  " << t.name << (t.name == s.loss ? " (loss)" : "") << ": "
         << t.type << "\n";
  };
  list("inputs:", s.inputs);
  list("outputs:", s.outputs);
  os << "parameters: " << grouped(s.paramCount) << " in " << s.params.size()
     << " tensors, " << grouped(s.paramBytes) << " bytes ("
     << human(static_cast<double>(s.paramBytes), "B") << ")\n";
  os << "ops: " << s.ops << "\n";
  os << "forward FLOPs: " << grouped(s.forwardFlops) << " ("
     << human(static_cast<double>(s.forwardFlops), "FLOP") << ")\n";
  os << "forward bytes accessed (unfused): " << grouped(s.forwardBytes) << " ("
     << human(static_cast<double>(s.forwardBytes), "B") << ")\n";
}

llvm::json::Value mlir::weft::modelStatsToJson(const ModelStats &s) {
  auto list = [](const std::vector<TensorInfo> &ts) {
    llvm::json::Array a;
    for (const TensorInfo &t : ts)
      a.push_back(llvm::json::Object{{"name", t.name},
                                     {"type", t.type},
                                     {"elements", t.elements},
                                     {"bytes", t.bytes}});
    return a;
  };
  return llvm::json::Object{
      {"inputs", list(s.inputs)},
      {"outputs", list(s.outputs)},
      {"loss", s.loss},
      {"parameters", list(s.params)},
      {"parameter_count", s.paramCount},
      {"parameter_bytes", s.paramBytes},
      {"ops", s.ops},
      {"forward_flops", s.forwardFlops},
      {"forward_bytes", s.forwardBytes},
  };
}
