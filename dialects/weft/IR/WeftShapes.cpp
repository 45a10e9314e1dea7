//===- WeftShapes.cpp - shape rules: inference and verification ----------===//
//
// One rule per op computes the result type from the operands and attributes.
// The same rule is the op's verifier (errors go through emitOpError and name
// the operand, attribute or dimension at fault) and its InferTypeOpInterface
// implementation (errors go to the location, if any). Keeping one rule means
// the builder, the parser and the verifier can never disagree.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

// Reports an error, or stays silent when built without a sink.
class Reporter {
public:
  using Sink = std::function<InFlightDiagnostic()>;
  explicit Reporter(Sink sink) : sink(std::move(sink)) {}

  template <typename... Args> LogicalResult fail(Args &&...args) const {
    if (sink) {
      InFlightDiagnostic d = sink();
      (d << ... << args);
    }
    return failure();
  }

private:
  Sink sink;
};

RankedTensorType tensorOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

// Normalises a possibly negative dimension index; fails when out of range.
FailureOr<int64_t> normaliseDim(int64_t dim, int64_t rank, StringRef attr,
                                const Reporter &r) {
  int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    return r.fail("attribute '", attr, "' = ", dim,
                  " is out of range for rank ", rank);
  return d;
}

//===--- elementwise -----------------------------------------------------===//

FailureOr<Type> binaryRule(Value lhs, Value rhs, const Reporter &r) {
  if (lhs.getType() != rhs.getType())
    return r.fail("operand #1 (rhs) has type ", rhs.getType(),
                  " but operand #0 (lhs) has type ", lhs.getType(),
                  "; elementwise operands must match exactly (broadcast with "
                  "weft.broadcast_in_dim, convert with weft.cast)");
  return lhs.getType();
}

LogicalResult checkApproximate(StringRef approx, const Reporter &r) {
  if (approx != "none" && approx != "tanh")
    return r.fail("attribute 'approximate' must be \"none\" or \"tanh\", got \"",
                  approx, "\"");
  return success();
}

FailureOr<Type> geluRule(GeluOp::Adaptor a, const Reporter &r) {
  if (failed(checkApproximate(a.getApproximate(), r)))
    return failure();
  return a.getOperand().getType();
}

//===--- layout ----------------------------------------------------------===//

FailureOr<Type> transposeRule(TransposeOp::Adaptor a, const Reporter &r) {
  RankedTensorType t = tensorOf(a.getOperand());
  ArrayRef<int64_t> perm = a.getPerm();
  int64_t rank = t.getRank();
  SmallVector<bool> seen(rank, false);
  bool ok = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t p : perm) {
    if (!ok || p < 0 || p >= rank || seen[p]) {
      ok = false;
      break;
    }
    seen[p] = true;
  }
  if (!ok)
    return r.fail("attribute 'perm' = ", shapeStr(perm),
                  " is not a permutation of 0..", rank - 1,
                  " (the operand has rank ", rank, ")");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(t.getDimSize(p));
  return Type(t.clone(shape));
}

FailureOr<Type> sliceRule(SliceOp::Adaptor a, const Reporter &r) {
  RankedTensorType t = tensorOf(a.getOperand());
  ArrayRef<int64_t> start = a.getStart(), limit = a.getLimit();
  if (static_cast<int64_t>(start.size()) != t.getRank() ||
      static_cast<int64_t>(limit.size()) != t.getRank())
    return r.fail("attributes 'start' and 'limit' need one entry per operand "
                  "dimension (rank ",
                  t.getRank(), "), got ", start.size(), " and ", limit.size());
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (start[i] < 0 || start[i] > limit[i] || limit[i] > t.getDimSize(i))
      return r.fail("dimension ", i, ": slice [", start[i], ", ", limit[i],
                    ") is not inside [0, ", t.getDimSize(i), ")");
    shape.push_back(limit[i] - start[i]);
  }
  return Type(t.clone(shape));
}

FailureOr<Type> concatRule(ConcatOp::Adaptor a, const Reporter &r) {
  ValueRange inputs = a.getInputs();
  if (inputs.empty())
    return r.fail("needs at least one operand");
  RankedTensorType first = tensorOf(inputs[0]);
  FailureOr<int64_t> dim =
      normaliseDim(a.getDim(), first.getRank(), "dim", r);
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (auto [i, v] : llvm::enumerate(inputs.drop_front())) {
    RankedTensorType t = tensorOf(v);
    if (t.getElementType() != first.getElementType() ||
        t.getRank() != first.getRank())
      return r.fail("operand #", i + 1, " has type ", t,
                    " but operand #0 has type ", first,
                    "; they must have the same rank and element type");
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (d == *dim)
        continue;
      if (t.getDimSize(d) != first.getDimSize(d))
        return r.fail("operand #", i + 1, " has size ", t.getDimSize(d),
                      " in dimension ", d, " but operand #0 has ",
                      first.getDimSize(d),
                      "; only the concatenated dimension may differ");
    }
    shape[*dim] += t.getDimSize(*dim);
  }
  return Type(first.clone(shape));
}

//===--- contractions, reductions, normalisations ------------------------===//

FailureOr<Type> matmulRule(MatmulOp::Adaptor a, const Reporter &r) {
  RankedTensorType lhs = tensorOf(a.getLhs()), rhs = tensorOf(a.getRhs());
  if (lhs.getRank() < 2)
    return r.fail("operand #0 (lhs) must have rank >= 2, got ", lhs);
  if (rhs.getRank() < 2)
    return r.fail("operand #1 (rhs) must have rank >= 2, got ", rhs);
  if (lhs.getElementType() != rhs.getElementType())
    return r.fail("operand #1 (rhs) has element type ", rhs.getElementType(),
                  " but operand #0 (lhs) has ", lhs.getElementType());
  int64_t lr = lhs.getRank(), rr = rhs.getRank();
  int64_t m = lhs.getDimSize(lr - 2), kl = lhs.getDimSize(lr - 1);
  if (a.getTransposeA())
    std::swap(m, kl);
  int64_t kr = rhs.getDimSize(rr - 2), n = rhs.getDimSize(rr - 1);
  if (a.getTransposeB())
    std::swap(kr, n);
  if (kl != kr)
    return r.fail("contraction dimension mismatch: operand #0 (lhs) has K = ",
                  kl, " but operand #1 (rhs) has K = ", kr, " (lhs ", lhs,
                  ", rhs ", rhs, a.getTransposeA() ? ", transpose_a" : "",
                  a.getTransposeB() ? ", transpose_b" : "", ")");
  ArrayRef<int64_t> batch = lhs.getShape().drop_back(2);
  if (rr > 2 && rhs.getShape().drop_back(2) != batch)
    return r.fail("operand #1 (rhs) has batch dimensions ",
                  shapeStr(rhs.getShape().drop_back(2)),
                  " but operand #0 (lhs) has ", shapeStr(batch),
                  "; a rhs with batch dimensions must match them exactly "
                  "(only a 2-D rhs broadcasts)");
  SmallVector<int64_t> shape(batch);
  shape.push_back(m);
  shape.push_back(n);
  return Type(lhs.clone(shape));
}

FailureOr<Type> reduceRule(ReduceOp::Adaptor a, const Reporter &r) {
  RankedTensorType t = tensorOf(a.getOperand());
  StringRef kind = a.getKind();
  if (kind != "sum" && kind != "max" && kind != "mean")
    return r.fail("attribute 'kind' must be \"sum\", \"max\" or \"mean\", got \"",
                  kind, "\"");
  if (kind == "mean" && !llvm::isa<FloatType>(t.getElementType()))
    return r.fail("kind \"mean\" needs a floating-point operand, got ", t);
  llvm::SmallSet<int64_t, 4> dims;
  for (int64_t d : a.getDims()) {
    // Negative entries count from the end, as in softmax and concat.
    int64_t n = d < 0 ? d + t.getRank() : d;
    if (n < 0 || n >= t.getRank())
      return r.fail("attribute 'dims' = ", shapeStr(a.getDims()),
                    " names dimension ", d, ", out of range for rank ",
                    t.getRank());
    if (!dims.insert(n).second)
      return r.fail("attribute 'dims' = ", shapeStr(a.getDims()),
                    " names dimension ", n, " twice");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if (!dims.contains(d))
      shape.push_back(t.getDimSize(d));
    else if (a.getKeepDims())
      shape.push_back(1);
  }
  return Type(t.clone(shape));
}

FailureOr<Type> softmaxRule(SoftmaxOp::Adaptor a, const Reporter &r) {
  RankedTensorType t = tensorOf(a.getOperand());
  if (t.getRank() == 0)
    return r.fail("operand must have rank >= 1, got ", t);
  if (failed(normaliseDim(a.getDim(), t.getRank(), "dim", r)))
    return failure();
  return Type(t);
}

// gamma (and beta) are 1-D, of the size of x's last dimension.
LogicalResult checkNormScale(RankedTensorType x, Value v, StringRef name,
                             int index, const Reporter &r) {
  RankedTensorType t = tensorOf(v);
  if (t.getRank() != 1 || t.getDimSize(0) != x.getDimSize(x.getRank() - 1) ||
      t.getElementType() != x.getElementType())
    return r.fail("operand #", index, " (", name, ") has type ", t,
                  " but must be ",
                  RankedTensorType::get({x.getDimSize(x.getRank() - 1)},
                                        x.getElementType()),
                  ", the last dimension of x");
  return success();
}

LogicalResult checkEps(float eps, const Reporter &r) {
  if (!(eps > 0.0f))
    return r.fail("attribute 'eps' must be positive, got ", eps);
  return success();
}

FailureOr<Type> layerNormRule(LayerNormOp::Adaptor a, const Reporter &r) {
  RankedTensorType x = tensorOf(a.getX());
  if (x.getRank() == 0)
    return r.fail("operand #0 (x) must have rank >= 1, got ", x);
  if (failed(checkNormScale(x, a.getGamma(), "gamma", 1, r)) ||
      failed(checkNormScale(x, a.getBeta(), "beta", 2, r)) ||
      failed(checkEps(a.getEps().convertToFloat(), r)))
    return failure();
  return Type(x);
}

FailureOr<Type> rmsNormRule(RmsNormOp::Adaptor a, const Reporter &r) {
  RankedTensorType x = tensorOf(a.getX());
  if (x.getRank() == 0)
    return r.fail("operand #0 (x) must have rank >= 1, got ", x);
  if (failed(checkNormScale(x, a.getGamma(), "gamma", 1, r)) ||
      failed(checkEps(a.getEps().convertToFloat(), r)))
    return failure();
  return Type(x);
}

FailureOr<Type> embeddingRule(EmbeddingOp::Adaptor a, const Reporter &r) {
  RankedTensorType table = tensorOf(a.getTable()), ids = tensorOf(a.getIds());
  if (table.getRank() != 2)
    return r.fail("operand #0 (table) must be 2-D [V, D], got ", table);
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(table.getDimSize(1));
  return Type(table.clone(shape));
}

FailureOr<Type> attentionRule(AttentionOp::Adaptor a, const Reporter &r) {
  RankedTensorType q = tensorOf(a.getQ()), k = tensorOf(a.getK()),
                   v = tensorOf(a.getV());
  const char *names[] = {"q", "k", "v"};
  RankedTensorType ts[] = {q, k, v};
  for (int i = 0; i < 3; ++i)
    if (ts[i].getRank() != 4)
      return r.fail("operand #", i, " (", names[i],
                    ") must be 4-D [B, H, S, Dh], got ", ts[i]);
  for (int i = 1; i < 3; ++i) {
    if (ts[i].getElementType() != q.getElementType())
      return r.fail("operand #", i, " (", names[i], ") has element type ",
                    ts[i].getElementType(), " but q has ", q.getElementType());
    if (ts[i].getDimSize(0) != q.getDimSize(0) ||
        ts[i].getDimSize(1) != q.getDimSize(1))
      return r.fail("operand #", i, " (", names[i], ") has [B, H] = [",
                    ts[i].getDimSize(0), ", ", ts[i].getDimSize(1),
                    "] but q has [", q.getDimSize(0), ", ", q.getDimSize(1),
                    "]");
  }
  if (k.getDimSize(3) != q.getDimSize(3))
    return r.fail("operand #1 (k) has head size ", k.getDimSize(3),
                  " but q has ", q.getDimSize(3));
  if (v.getDimSize(2) != k.getDimSize(2))
    return r.fail("operand #2 (v) has sequence length ", v.getDimSize(2),
                  " but k has ", k.getDimSize(2));
  if (a.getCausal() && q.getDimSize(2) != k.getDimSize(2))
    return r.fail("causal attention needs q and k of one sequence length, got ",
                  q.getDimSize(2), " and ", k.getDimSize(2));
  if (auto scale = a.getScale(); scale && !(scale->convertToFloat() > 0.0f))
    return r.fail("attribute 'scale' must be positive, got ",
                  scale->convertToFloat());
  return Type(q.clone({q.getDimSize(0), q.getDimSize(1), q.getDimSize(2),
                       v.getDimSize(3)}));
}

FailureOr<Type> crossEntropyRule(CrossEntropyOp::Adaptor a,
                                 const Reporter &r) {
  RankedTensorType logits = tensorOf(a.getLogits()),
                   labels = tensorOf(a.getLabels());
  if (logits.getRank() < 1)
    return r.fail("operand #0 (logits) must have rank >= 1, got ", logits);
  if (labels.getShape() != logits.getShape().drop_back())
    return r.fail("operand #1 (labels) has shape ",
                  shapeStr(labels.getShape()), " but must be ",
                  shapeStr(logits.getShape().drop_back()),
                  ", the logits' shape without the class dimension");
  return Type(RankedTensorType::get({}, Float32Type::get(a.getLogits().getContext())));
}

// Shared by the vocabulary-shard statistics and their gradient.
LogicalResult checkVocabShard(RankedTensorType logits, RankedTensorType labels,
                              RankedTensorType max, int64_t axis, const Reporter &r) {
  if (logits.getRank() < 1)
    return r.fail("operand #0 (logits) must have rank >= 1, got ", logits);
  if (labels.getShape() != logits.getShape().drop_back())
    return r.fail("operand #1 (labels) has shape ", shapeStr(labels.getShape()), " but must be ",
                  shapeStr(logits.getShape().drop_back()));
  if (max.getShape() != logits.getShape().drop_back() ||
      max.getElementType() != logits.getElementType())
    return r.fail("operand #2 (max) has type ", max, " but must be the logits' rows, ",
                  shapeStr(logits.getShape().drop_back()));
  if (axis < 0)
    return r.fail("attribute 'vocab_axis' must be a mesh axis (>= 0), got ", axis);
  return success();
}

FailureOr<Type> vocabShardStatsRule(VocabShardStatsOp::Adaptor a, const Reporter &r) {
  RankedTensorType logits = tensorOf(a.getLogits());
  if (failed(checkVocabShard(logits, tensorOf(a.getLabels()), tensorOf(a.getMax()),
                             static_cast<int64_t>(a.getVocabAxis()), r)))
    return failure();
  SmallVector<int64_t> shape(logits.getShape().drop_back());
  shape.push_back(2);
  return Type(logits.clone(shape));
}

FailureOr<Type> vocabShardStatsGradRule(VocabShardStatsGradOp::Adaptor a, const Reporter &r) {
  RankedTensorType logits = tensorOf(a.getLogits()), dstats = tensorOf(a.getDstats());
  if (failed(checkVocabShard(logits, tensorOf(a.getLabels()), tensorOf(a.getMax()),
                             static_cast<int64_t>(a.getVocabAxis()), r)))
    return failure();
  SmallVector<int64_t> shape(logits.getShape().drop_back());
  shape.push_back(2);
  if (dstats.getShape() != ArrayRef<int64_t>(shape))
    return r.fail("operand #3 (dstats) has shape ", shapeStr(dstats.getShape()), " but must be ",
                  shapeStr(shape));
  return Type(logits);
}

FailureOr<Type> constantRule(ConstantOp::Adaptor a, const Reporter &r) {
  auto t = llvm::dyn_cast<RankedTensorType>(a.getValue().getType());
  if (!t || !t.hasStaticShape())
    return r.fail("attribute 'value' must have a static tensor type, got ",
                  a.getValue().getType());
  return Type(t);
}


//===--- gradient and optimizer ops --------------------------------------===//

using Types = SmallVector<Type>;

FailureOr<Type> geluGradRule(GeluGradOp::Adaptor a, const Reporter &r) {
  if (failed(checkApproximate(a.getApproximate(), r)))
    return failure();
  return binaryRule(a.getLhs(), a.getRhs(), r);
}

template <typename AdaptorT>
FailureOr<Type> selectGradRule(AdaptorT a, const Reporter &r) {
  if (failed(binaryRule(a.getA(), a.getB(), r)) ||
      failed(binaryRule(a.getA(), a.getDy(), r)))
    return failure();
  return a.getA().getType();
}

FailureOr<Type> padRule(PadOp::Adaptor a, const Reporter &r) {
  RankedTensorType t = tensorOf(a.getOperand());
  ArrayRef<int64_t> low = a.getLow(), high = a.getHigh();
  if (static_cast<int64_t>(low.size()) != t.getRank() ||
      static_cast<int64_t>(high.size()) != t.getRank())
    return r.fail("attributes 'low' and 'high' need one entry per operand "
                  "dimension (rank ", t.getRank(), ")");
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (low[i] < 0 || high[i] < 0)
      return r.fail("dimension ", i, ": padding must not be negative");
    shape.push_back(t.getDimSize(i) + low[i] + high[i]);
  }
  return Type(t.clone(shape));
}

FailureOr<Type> softmaxGradRule(SoftmaxGradOp::Adaptor a, const Reporter &r) {
  RankedTensorType t = tensorOf(a.getY());
  if (failed(binaryRule(a.getY(), a.getDy(), r)))
    return failure();
  if (t.getRank() == 0 || failed(normaliseDim(a.getDim(), t.getRank(), "dim", r)))
    return failure();
  return Type(t);
}

FailureOr<Types> layerNormGradRule(LayerNormGradOp::Adaptor a, const Reporter &r) {
  RankedTensorType x = tensorOf(a.getX());
  if (x.getRank() == 0 || failed(checkNormScale(x, a.getGamma(), "gamma", 1, r)) ||
      failed(binaryRule(a.getX(), a.getDy(), r)) ||
      failed(checkEps(a.getEps().convertToFloat(), r)))
    return failure();
  return Types{x, a.getGamma().getType(), a.getGamma().getType()};
}

FailureOr<Types> rmsNormGradRule(RmsNormGradOp::Adaptor a, const Reporter &r) {
  RankedTensorType x = tensorOf(a.getX());
  if (x.getRank() == 0 || failed(checkNormScale(x, a.getGamma(), "gamma", 1, r)) ||
      failed(binaryRule(a.getX(), a.getDy(), r)) ||
      failed(checkEps(a.getEps().convertToFloat(), r)))
    return failure();
  return Types{x, a.getGamma().getType()};
}

FailureOr<Type> embeddingGradRule(EmbeddingGradOp::Adaptor a, const Reporter &r) {
  RankedTensorType ids = tensorOf(a.getIds()), dy = tensorOf(a.getDy());
  if (dy.getRank() != ids.getRank() + 1 ||
      dy.getShape().drop_back() != ids.getShape())
    return r.fail("operand #1 (dy) has shape ", shapeStr(dy.getShape()),
                  " but must be the ids' shape ", shapeStr(ids.getShape()),
                  " plus the row width");
  if (static_cast<int64_t>(a.getVocab()) <= 0)
    return r.fail("attribute 'vocab' must be positive");
  return Type(dy.clone({static_cast<int64_t>(a.getVocab()), dy.getShape().back()}));
}

FailureOr<Types> attentionGradRule(AttentionGradOp::Adaptor a, const Reporter &r) {
  // The forward rule checks q, k, v; dy must be the forward's result type.
  AttentionOp::Properties props;
  props.causal = BoolAttr::get(a.getQ().getContext(), a.getCausal());
  props.scale = a.getScaleAttr();
  SmallVector<Value> qkv{a.getQ(), a.getK(), a.getV()};
  AttentionOp::Adaptor fwd(qkv, DictionaryAttr::get(a.getQ().getContext()), props);
  FailureOr<Type> out = attentionRule(fwd, r);
  if (failed(out))
    return failure();
  if (a.getDy().getType() != *out)
    return r.fail("operand #3 (dy) has type ", a.getDy().getType(),
                  " but the attention's result is ", *out);
  return Types{a.getQ().getType(), a.getK().getType(), a.getV().getType()};
}

FailureOr<Type> crossEntropyGradRule(CrossEntropyGradOp::Adaptor a, const Reporter &r) {
  RankedTensorType logits = tensorOf(a.getLogits()), labels = tensorOf(a.getLabels());
  if (logits.getRank() < 1 || labels.getShape() != logits.getShape().drop_back())
    return r.fail("operand #1 (labels) has shape ", shapeStr(labels.getShape()),
                  " but must be ", shapeStr(logits.getShape().drop_back()));
  return Type(logits);
}

FailureOr<Types> sgdRule(SgdUpdateOp::Adaptor a, const Reporter &r) {
  if (failed(binaryRule(a.getParam(), a.getGrad(), r)) ||
      failed(binaryRule(a.getParam(), a.getBuf(), r)))
    return failure();
  return Types{a.getParam().getType(), a.getBuf().getType()};
}

FailureOr<Types> adamwRule(AdamwUpdateOp::Adaptor a, const Reporter &r) {
  if (failed(binaryRule(a.getParam(), a.getGrad(), r)) ||
      failed(binaryRule(a.getParam(), a.getM(), r)) ||
      failed(binaryRule(a.getParam(), a.getV(), r)))
    return failure();
  return Types{a.getParam().getType(), a.getM().getType(), a.getV().getType()};
}

//===--- hooking the rules up --------------------------------------------===//

Reporter opReporter(Operation *op) {
  return Reporter([op] { return op->emitOpError(); });
}

Reporter locReporter(std::optional<Location> loc, StringRef opName) {
  if (!loc)
    return Reporter(nullptr);
  std::string name = opName.str();
  return Reporter([loc, name] {
    InFlightDiagnostic d = emitError(*loc);
    d << "'" << name << "' op ";
    return d;
  });
}

// The verifier: the rule's own checks, then the declared result type
// against the inferred one, with both spelled out.
template <typename OpT, typename RuleT>
LogicalResult verifyRule(OpT op, RuleT rule) {
  typename OpT::Adaptor adaptor(op);
  FailureOr<Type> type = rule(adaptor, opReporter(op));
  if (failed(type))
    return failure();
  if (op->getResult(0).getType() != *type)
    return op.emitOpError() << "result type " << op->getResult(0).getType()
                            << " does not match the inferred type " << *type;
  return success();
}

template <typename OpT, typename RuleT>
LogicalResult inferRule(std::optional<Location> loc,
                        typename OpT::Adaptor adaptor, RuleT rule,
                        SmallVectorImpl<Type> &out) {
  FailureOr<Type> type =
      rule(adaptor, locReporter(loc, OpT::getOperationName()));
  if (failed(type))
    return failure();
  out.push_back(*type);
  return success();
}

// Multi-result ops: the same, over every result.
template <typename OpT, typename RuleT>
LogicalResult verifyRuleN(OpT op, RuleT rule) {
  typename OpT::Adaptor adaptor(op);
  FailureOr<SmallVector<Type>> types = rule(adaptor, opReporter(op));
  if (failed(types))
    return failure();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(op->getResultTypes(), *types)))
    if (std::get<0>(pair) != std::get<1>(pair))
      return op.emitOpError() << "result #" << i << " type " << std::get<0>(pair)
                              << " does not match the inferred type "
                              << std::get<1>(pair);
  return success();
}

template <typename OpT, typename RuleT>
LogicalResult inferRuleN(std::optional<Location> loc,
                         typename OpT::Adaptor adaptor, RuleT rule,
                         SmallVectorImpl<Type> &out) {
  FailureOr<SmallVector<Type>> types =
      rule(adaptor, locReporter(loc, OpT::getOperationName()));
  if (failed(types))
    return failure();
  out.append(types->begin(), types->end());
  return success();
}

} // namespace

#define WEFT_SHAPE_RULE_N(OP, RULE)                                            \
  LogicalResult OP::verify() { return verifyRuleN(*this, RULE); }              \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> l, \
                                     OP::Adaptor a, SmallVectorImpl<Type> &o) { \
    return inferRuleN<OP>(l, a, RULE, o);                                      \
  }

#define WEFT_SHAPE_RULE(OP, RULE)                                              \
  LogicalResult OP::verify() { return verifyRule(*this, RULE); }               \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> l, \
                                     OP::Adaptor a, SmallVectorImpl<Type> &o) { \
    return inferRule<OP>(l, a, RULE, o);                                       \
  }

#define WEFT_BINARY_RULE(OP)                                                   \
  WEFT_SHAPE_RULE(OP, [](OP::Adaptor a, const Reporter &r) {                   \
    return binaryRule(a.getLhs(), a.getRhs(), r);                              \
  })
WEFT_BINARY_RULE(AddOp)
WEFT_BINARY_RULE(SubOp)
WEFT_BINARY_RULE(MulOp)
WEFT_BINARY_RULE(DivOp)
WEFT_BINARY_RULE(MaxOp)
WEFT_BINARY_RULE(MinOp)
WEFT_BINARY_RULE(PowOp)

#define WEFT_UNARY_RULE(OP)                                                    \
  WEFT_SHAPE_RULE(OP, [](OP::Adaptor a, const Reporter &) {                    \
    return FailureOr<Type>(a.getOperand().getType());                          \
  })
WEFT_UNARY_RULE(NegOp)
WEFT_UNARY_RULE(ExpOp)
WEFT_UNARY_RULE(LogOp)
WEFT_UNARY_RULE(SqrtOp)
WEFT_UNARY_RULE(RsqrtOp)
WEFT_UNARY_RULE(TanhOp)
WEFT_UNARY_RULE(SigmoidOp)
WEFT_UNARY_RULE(ReluOp)
WEFT_UNARY_RULE(SiluOp)

WEFT_SHAPE_RULE(GeluOp, geluRule)
WEFT_SHAPE_RULE(ConstantOp, constantRule)
WEFT_SHAPE_RULE(TransposeOp, transposeRule)
WEFT_SHAPE_RULE(SliceOp, sliceRule)
WEFT_SHAPE_RULE(ConcatOp, concatRule)
WEFT_SHAPE_RULE(MatmulOp, matmulRule)
WEFT_SHAPE_RULE(ReduceOp, reduceRule)
WEFT_SHAPE_RULE(SoftmaxOp, softmaxRule)
WEFT_SHAPE_RULE(LayerNormOp, layerNormRule)
WEFT_SHAPE_RULE(RmsNormOp, rmsNormRule)
WEFT_SHAPE_RULE(EmbeddingOp, embeddingRule)
WEFT_SHAPE_RULE(AttentionOp, attentionRule)
WEFT_SHAPE_RULE(CrossEntropyOp, crossEntropyRule)

WEFT_BINARY_RULE(ReluGradOp)
WEFT_BINARY_RULE(SiluGradOp)
WEFT_BINARY_RULE(SigmoidGradOp)
WEFT_BINARY_RULE(TanhGradOp)
WEFT_SHAPE_RULE(GeluGradOp, geluGradRule)
WEFT_SHAPE_RULE(MaxGradOp, selectGradRule<MaxGradOp::Adaptor>)
WEFT_SHAPE_RULE(MinGradOp, selectGradRule<MinGradOp::Adaptor>)
WEFT_UNARY_RULE(ScaleOp)
WEFT_UNARY_RULE(TpCopyOp)
WEFT_SHAPE_RULE(PadOp, padRule)
WEFT_SHAPE_RULE(SoftmaxGradOp, softmaxGradRule)
WEFT_SHAPE_RULE_N(LayerNormGradOp, layerNormGradRule)
WEFT_SHAPE_RULE_N(RmsNormGradOp, rmsNormGradRule)
WEFT_SHAPE_RULE(EmbeddingGradOp, embeddingGradRule)
WEFT_SHAPE_RULE_N(AttentionGradOp, attentionGradRule)
WEFT_SHAPE_RULE(CrossEntropyGradOp, crossEntropyGradRule)
WEFT_SHAPE_RULE(VocabShardStatsOp, vocabShardStatsRule)
WEFT_SHAPE_RULE(VocabShardStatsGradOp, vocabShardStatsGradRule)
WEFT_SHAPE_RULE_N(SgdUpdateOp, sgdRule)
WEFT_SHAPE_RULE_N(AdamwUpdateOp, adamwRule)

//===--- ops whose result type is given, not inferred --------------------===//

LogicalResult CastOp::verify() {
  if (getOperand().getType().getShape() != getResult().getType().getShape())
    return emitOpError() << "result shape "
                         << shapeStr(getResult().getType().getShape())
                         << " must equal the operand shape "
                         << shapeStr(getOperand().getType().getShape())
                         << "; cast changes only the element type";
  return success();
}

LogicalResult ReshapeOp::verify() {
  int64_t in = getOperand().getType().getNumElements();
  int64_t out = getResult().getType().getNumElements();
  if (in != out)
    return emitOpError() << "result " << getResult().getType() << " has " << out
                         << " elements but operand " << getOperand().getType()
                         << " has " << in;
  if (getOperand().getType().getElementType() !=
      getResult().getType().getElementType())
    return emitOpError() << "reshape keeps the element type; use weft.cast";
  return success();
}

// The number of tp devices is @mesh's, so the result type is given: it
// must be the operand with dimension `dim` a whole multiple.
LogicalResult TpGatherOp::verify() {
  RankedTensorType in = getOperand().getType(), out = getResult().getType();
  const int64_t dim = getDim();
  if (in.getElementType() != out.getElementType() || in.getRank() != out.getRank())
    return emitOpError() << "result " << out << " must keep the operand's element type and rank ("
                         << in << ")";
  if (dim < 0 || dim >= in.getRank())
    return emitOpError() << "dim " << dim << " is out of range for rank " << in.getRank();
  for (int64_t d = 0; d < in.getRank(); ++d) {
    const int64_t a = in.getDimSize(d), b = out.getDimSize(d);
    if (d == dim ? (a <= 0 || b % a != 0) : a != b)
      return emitOpError() << "result " << out << " is not the operand " << in
                           << " gathered along dimension " << dim;
  }
  return success();
}

// The shardings and the grid are checked by weft-reshard, which knows @mesh.
LogicalResult ReshardOp::verify() {
  RankedTensorType in = getOperand().getType(), out = getResult().getType();
  if (in.getElementType() != out.getElementType() || in.getRank() != out.getRank())
    return emitOpError() << "result " << out << " must keep the operand's element type and rank ("
                         << in << ")";
  return success();
}

LogicalResult BroadcastInDimOp::verify() {
  RankedTensorType in = getOperand().getType(), out = getResult().getType();
  ArrayRef<int64_t> dims = getDims();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "result element type " << out.getElementType()
                         << " differs from the operand's "
                         << in.getElementType();
  if (static_cast<int64_t>(dims.size()) != in.getRank())
    return emitOpError() << "attribute 'dims' has " << dims.size()
                         << " entries but the operand has rank "
                         << in.getRank();
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= out.getRank())
      return emitOpError() << "attribute 'dims' = " << shapeStr(dims)
                           << ": entry " << i << " (" << d
                           << ") is out of range for the result rank "
                           << out.getRank();
    if (i > 0 && d <= dims[i - 1])
      return emitOpError() << "attribute 'dims' = " << shapeStr(dims)
                           << " must be strictly increasing";
    int64_t size = in.getDimSize(i);
    if (size != 1 && size != out.getDimSize(d))
      return emitOpError() << "operand dimension " << i << " (size " << size
                           << ") cannot broadcast to result dimension " << d
                           << " (size " << out.getDimSize(d) << ")";
  }
  return success();
}
