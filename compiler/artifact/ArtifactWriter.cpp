//===- ArtifactWriter.cpp ------------------------------------------------===//
//
// One pass over @forward in program order. Each op becomes zero or more
// instructions; views (reshape) and constants become value-table entries
// only. Layout ops (transpose, slice, concat, broadcast outside a fused
// region) all become strided copies whose strides are worked out here, so
// the runtime needs a single layout kernel.
//
//===----------------------------------------------------------------------===//
#include "compiler/artifact/ArtifactWriter.h"
#include "compiler/analysis/ShardingAnalysis.h"
#include "compiler/target/cuda/FusedKernelSource.h"
#include "compiler/target/cuda/Nvrtc.h"
#include "passes/lowering/GemmEpilogue.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"
#include "runtime/artifact/artifact_generated.h"
#include "runtime/artifact/format.h"
#include "runtime/artifact/precision.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "llvm/ADT/TypeSwitch.h"
#include "runtime/pipeline/schedule.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"

#include <map>

using namespace mlir;
using namespace mlir::weft;
namespace fbs = ::flatbuffers;
namespace fb = ::weft::fb;
namespace artifact = ::weft::artifact;

namespace {

// The one mesh axis a collective runs over.
template <typename OpT> int64_t gridAxis(OpT op) {
  auto axes = op.getGridAxes();
  return axes.empty() ? 0 : axes[0];
}

// A collective along tensor dimension `dim` sees its tensor as [outer, rest]
// with outer the product of the dimensions before `dim`; outer is written
// only when it is not 1 (dimension 0: the format before any-dimension
// collectives), and the mesh axis stays the last int.
void withOuter(std::vector<int64_t> &ints, Type tensor, int64_t dim, int64_t axis) {
  int64_t outer = 1;
  for (int64_t d : cast<RankedTensorType>(tensor).getShape().take_front(dim))
    outer *= d;
  if (outer != 1)
    ints.push_back(outer);
  ints.push_back(axis);
}

fb::DType dtypeOf(Type t) {
  Type e = cast<RankedTensorType>(t).getElementType();
  if (e.isF32())
    return fb::DType::F32;
  if (e.isBF16())
    return fb::DType::BF16;
  if (e.isF16())
    return fb::DType::F16;
  if (e.isInteger(32))
    return fb::DType::I32;
  return fb::DType::I64;
}

std::vector<int64_t> shapeOf(Type t) {
  auto s = cast<RankedTensorType>(t).getShape();
  return {s.begin(), s.end()};
}

std::vector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

// "gpt_tiny.mlir:40:11" for the first file location inside `loc`; a named
// location (a pipeline's transfers) keeps its name in front.
std::string locString(Location loc) {
  std::string out;
  if (auto named = dyn_cast<NameLoc>(loc)) {
    std::string file = locString(named.getChildLoc());
    return named.getName().str() + (file.empty() ? "" : " (" + file + ")");
  }
  loc->walk([&](Location l) {
    if (auto f = dyn_cast<FileLineColLoc>(l)) {
      out = (llvm::sys::path::filename(f.getFilename().getValue()) + ":" +
             Twine(f.getLine()) + ":" + Twine(f.getColumn()))
                .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return out;
}

struct ValueEntry {
  fb::DType dtype;
  std::vector<int64_t> shape;
  fb::Storage storage;
  uint64_t index;
};

class Writer {
public:
  /// One function per pp rank (one in all without a pipeline): each becomes
  /// a RankProgram; parameters, states and constants are shared tables.
  explicit Writer(const ArtifactOptions &options) : options(options) {}
  LogicalResult run(ArrayRef<func::FuncOp> fns, StringRef source, llvm::raw_ostream &os);

private:
  uint32_t addValue(Value v, fb::Storage storage, uint64_t index) {
    uint32_t id = entries.size();
    entries.push_back({dtypeOf(v.getType()), shapeOf(v.getType()), storage, index});
    ids[v] = id;
    return id;
  }
  uint32_t id(Value v) { return ids.lookup(v); }
  // An op's results: in the arena at their planned offsets, or (offset -1)
  // straight in the output tensor the runtime returns.
  std::vector<uint32_t> addResults(Operation *op) {
    std::vector<uint32_t> out;
    auto offsets = op->getAttrOfType<DenseI64ArrayAttr>("weft.offsets");
    for (auto [i, r] : llvm::enumerate(op->getResults())) {
      if (offsets[i] >= 0)
        out.push_back(addValue(r, fb::Storage::Arena, offsets[i]));
      else if (auto it = updateTarget.find(r); it != updateTarget.end())
        out.push_back(addValue(r, it->second.first, it->second.second));
      else
        out.push_back(addValue(r, fb::Storage::Output, outputIndex.lookup(r)));
    }
    return out;
  }

  // One instruction with everything optional defaulted.
  struct Instr {
    fb::Opcode op;
    std::vector<uint32_t> operands, results;
    std::vector<int64_t> ints;
    std::vector<float> floats;
    fbs::Offset<fb::FusedProgram> fused = 0;
    fbs::Offset<fb::CopySpec> copy = 0;
    std::string kernel; // a generated CUDA kernel's name (--target=cuda)
  };
  void emit(Operation *op, Instr in) {
    std::string loc = locString(op->getLoc());
    std::string name = op->getName().getStringRef().str();
    std::string shards = op->getNumResults() ? sharding->label(op->getResult(0)) : "";
    instructions.push_back(fb::CreateInstructionDirect(
        fbb, in.op, &in.operands, &in.results, &in.ints, &in.floats, in.fused,
        in.copy, loc.c_str(), name.c_str(), shards.empty() ? nullptr : shards.c_str(),
        in.kernel.empty() ? nullptr : in.kernel.c_str()));
  }
  // --target=cuda: the generated kernels so far, by name (equal programs,
  // as data-parallel ranks and repeated layers have, share one).
  std::map<std::string, std::string> cudaKernels;
  // The module of every generated kernel, compiled: the artifact's kernels.
  LogicalResult addCudaKernels(Location loc,
                               std::vector<fbs::Offset<fb::KernelBinary>> &out);
  void emitCopy(Operation *op, Value src, Value dst, ArrayRef<int64_t> shape,
                int64_t srcOffset, ArrayRef<int64_t> srcStrides,
                int64_t dstOffset, ArrayRef<int64_t> dstStrides) {
    std::vector<int64_t> s(shape.begin(), shape.end()),
        ss(srcStrides.begin(), srcStrides.end()),
        ds(dstStrides.begin(), dstStrides.end());
    Instr in{fb::Opcode::Copy, {id(src)}, {id(dst)}};
    in.copy = fb::CreateCopySpecDirect(fbb, &s, srcOffset, &ss, dstOffset, &ds);
    emit(op, std::move(in));
  }

  LogicalResult lower(Operation *op);
  LogicalResult lowerFused(FusedOp op);
  LogicalResult lowerFoldedMatmul(MatmulOp m, std::vector<int64_t> ints);
  LogicalResult requireF32(Operation *op) {
    for (Value v : op->getOperands())
      if (isa<FloatType>(cast<RankedTensorType>(v.getType()).getElementType()) &&
          !cast<RankedTensorType>(v.getType()).getElementType().isF32())
        return op->emitError() << op->getName()
                               << " on " << v.getType()
                               << " is not supported by the CPU backend yet; "
                                  "keep the model f32 and compile with "
                                  "--precision=bf16 for bf16 matmuls";
    return success();
  }
  // --precision=bf16 (the module's weft.precision): matmuls and attention
  // read bf16-rounded inputs; the trailing bf16_inputs int says so.
  bool bf16 = false;

  // The artifact's mesh axis of grid axis g: the artifact lists pp first
  // (ranks are numbered pp-major), the grid has it last.
  int64_t ax(int64_t g) const { return g >= 0 && g < (int64_t)axisOrder.size() ? axisOrder[g] : g; }
  std::vector<int64_t> axisOrder;

  // The rank program being written, and its per-function state.
  void startRank(func::FuncOp f) {
    fn = f;
    sharding.emplace(f);
    entries.clear();
    ids.clear();
    instructions.clear();
    outputIndex.clear();
    updateTarget.clear();
  }
  func::FuncOp fn;
  std::optional<ShardingAnalysis> sharding; // labels each instruction for weft-dump
  fbs::FlatBufferBuilder fbb;
  std::vector<ValueEntry> entries;
  DenseMap<Value, uint32_t> ids;
  std::vector<fbs::Offset<fb::Instruction>> instructions;
  std::vector<fbs::Offset<fb::ConstantData>> constants;
  const ArtifactOptions &options;
  DenseMap<Value, uint32_t> outputIndex; // the first output each value is
  // Training: the parameter or state each returned update overwrites.
  DenseMap<Value, std::pair<fb::Storage, uint64_t>> updateTarget;
};

LogicalResult Writer::lower(Operation *op) {
  Builder b(op->getContext());
  // Results that own arena bytes.
  auto arenaResults = [&]() { return addResults(op); };
  auto operandIds = [&]() {
    std::vector<uint32_t> out;
    for (Value v : op->getOperands())
      out.push_back(id(v));
    return out;
  };

  if (auto c = dyn_cast<ConstantOp>(op)) {
    auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
    if (!dense)
      return op->emitError() << "only dense constants are supported";
    ArrayRef<char> raw = dense.getRawData();
    std::vector<uint8_t> bytes;
    int64_t total = tensorBytes(c.getType());
    if (dense.isSplat()) {
      // A splat stores one element; the artifact stores them all.
      size_t elt = elementBytes(c.getType().getElementType());
      bytes.resize(total);
      for (int64_t i = 0; i < total; i += elt)
        std::memcpy(&bytes[i], raw.data(), elt);
    } else {
      bytes.assign(raw.begin(), raw.end());
    }
    addValue(c.getResult(), fb::Storage::Constant, constants.size());
    constants.push_back(fb::CreateConstantDataDirect(fbb, &bytes));
    return success();
  }
  if (isa<ReshapeOp, TpCopyOp>(op)) {
    // A view: the same bytes (under another shape, for a reshape).
    ValueEntry src = entries[id(op->getOperand(0))];
    addValue(op->getResult(0), src.storage, src.index);
    return success();
  }
  if (auto f = dyn_cast<FusedOp>(op))
    return lowerFused(f);

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](MatmulOp m) {
        if (failed(requireF32(op)))
          return failure();
        auto lhs = m.getLhs().getType(), rhs = m.getRhs().getType();
        int64_t lr = lhs.getRank();
        int64_t batch = product(lhs.getShape().drop_back(2));
        int64_t mm = m.getType().getShape()[lr - 2],
                n = m.getType().getShape()[lr - 1];
        int64_t k = m.getTransposeA() ? lhs.getShape()[lr - 2]
                                      : lhs.getShape()[lr - 1];
        bool bBatched = rhs.getRank() > 2;
        if (m->hasAttr(kGemmEpilogueAttr))
          return lowerFoldedMatmul(m, {batch, mm, n, k, m.getTransposeA(),
                                       m.getTransposeB(), bBatched, bf16});
        Instr in{fb::Opcode::Matmul, operandIds(), arenaResults()};
        in.ints = {batch, mm, n, k, m.getTransposeA(), m.getTransposeB(),
                   bBatched, bf16};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](TransposeOp t) {
        auto in = t.getOperand().getType();
        std::vector<int64_t> srcStrides = stridesOf(in.getShape()), permuted;
        for (int64_t p : t.getPerm())
          permuted.push_back(srcStrides[p]);
        auto res = arenaResults();
        (void)res;
        emitCopy(op, t.getOperand(), t.getResult(), t.getType().getShape(), 0,
                 permuted, 0, stridesOf(t.getType().getShape()));
        return success();
      })
      .Case([&](SliceOp s) {
        auto strides = stridesOf(s.getOperand().getType().getShape());
        int64_t offset = 0;
        for (auto [st, stride] : llvm::zip(s.getStart(), strides))
          offset += st * stride;
        arenaResults();
        emitCopy(op, s.getOperand(), s.getResult(), s.getType().getShape(),
                 offset, strides, 0, stridesOf(s.getType().getShape()));
        return success();
      })
      .Case([&](ConcatOp c) {
        arenaResults();
        int64_t rank = c.getType().getRank();
        int64_t dim = static_cast<int64_t>(c.getDim());
        if (dim < 0)
          dim += rank;
        auto dstStrides = stridesOf(c.getType().getShape());
        int64_t at = 0;
        for (Value in : c.getInputs()) {
          auto shape = cast<RankedTensorType>(in.getType()).getShape();
          emitCopy(op, in, c.getResult(), shape, 0, stridesOf(shape),
                   at * dstStrides[dim], dstStrides);
          at += shape[dim];
        }
        return success();
      })
      .Case([&](BroadcastInDimOp bc) {
        // Outside a fused region: integer broadcasts. A strided copy with
        // stride 0 along the broadcast dimensions.
        arenaResults();
        auto inShape = bc.getOperand().getType().getShape();
        auto inStrides = stridesOf(inShape);
        std::vector<int64_t> src(bc.getType().getRank(), 0);
        for (auto [i, d] : llvm::enumerate(bc.getDims()))
          if (inShape[i] != 1)
            src[d] = inStrides[i];
        emitCopy(op, bc.getOperand(), bc.getResult(), bc.getType().getShape(),
                 0, src, 0, stridesOf(bc.getType().getShape()));
        return success();
      })
      .Case([&](CastOp c) {
        Instr in{fb::Opcode::Cast, operandIds(), arenaResults()};
        in.ints = {c.getType().getNumElements()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](ReduceOp r) {
        if (r->hasAttr(kGemmEpilogueAttr))
          return success(); // the bias gradient of the matmul before (lowerFoldedMatmul)
        auto t = r.getOperand().getType();
        if (isa<FloatType>(t.getElementType()) && failed(requireF32(op)))
          return failure();
        Instr in{fb::Opcode::Reduce, operandIds(), arenaResults()};
        int64_t kind = r.getKind() == "sum" ? 0 : r.getKind() == "max" ? 1 : 2;
        in.ints = {kind};
        std::vector<int64_t> mask(t.getRank(), 0);
        for (int64_t d : r.getDims())
          mask[d < 0 ? d + t.getRank() : d] = 1;
        in.ints.insert(in.ints.end(), mask.begin(), mask.end());
        emit(op, std::move(in));
        return success();
      })
      .Case([&](SoftmaxOp s) {
        if (failed(requireF32(op)))
          return failure();
        auto shape = s.getType().getShape();
        int64_t rank = shape.size(), dim = static_cast<int64_t>(s.getDim());
        if (dim < 0)
          dim += rank;
        Instr in{fb::Opcode::Softmax, operandIds(), arenaResults()};
        in.ints = {product(shape.take_front(dim)), shape[dim],
                   product(shape.drop_front(dim + 1))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](LayerNormOp l) {
        if (failed(requireF32(op)))
          return failure();
        auto shape = l.getType().getShape();
        Instr in{fb::Opcode::LayerNorm, operandIds(), arenaResults()};
        in.ints = {product(shape.drop_back()), shape.back()};
        in.floats = {l.getEps().convertToFloat()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](RmsNormOp l) {
        if (failed(requireF32(op)))
          return failure();
        auto shape = l.getType().getShape();
        Instr in{fb::Opcode::RmsNorm, operandIds(), arenaResults()};
        in.ints = {product(shape.drop_back()), shape.back()};
        in.floats = {l.getEps().convertToFloat()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](EmbeddingOp e) {
        if (failed(requireF32(op)))
          return failure();
        auto table = e.getTable().getType();
        Instr in{fb::Opcode::Embedding, operandIds(), arenaResults()};
        in.ints = {table.getShape()[0], table.getShape()[1],
                   e.getIds().getType().getNumElements(),
                   e.getVocabAxis() ? ax(static_cast<int64_t>(*e.getVocabAxis())) : -1};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](AttentionOp a) {
        if (failed(requireF32(op)))
          return failure();
        auto q = a.getQ().getType().getShape(), k = a.getK().getType().getShape(),
             v = a.getV().getType().getShape();
        float scale = a.getScale() ? a.getScale()->convertToFloat()
                                   : 1.0f / std::sqrt(static_cast<float>(q[3]));
        Instr in{fb::Opcode::Attention, operandIds(), arenaResults()};
        in.ints = {q[0], q[1], q[2], k[2], q[3], v[3], a.getCausal(), bf16};
        in.floats = {scale};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](CrossEntropyOp c) {
        if (failed(requireF32(op)))
          return failure();
        auto logits = c.getLogits().getType().getShape();
        Instr in{fb::Opcode::CrossEntropy, operandIds(), arenaResults()};
        in.ints = {product(logits.drop_back()), logits.back()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](PadOp p) {
        // Zero the result, then a strided copy places the operand inside.
        arenaResults();
        auto dstStrides = stridesOf(p.getType().getShape());
        int64_t offset = 0;
        for (auto [low, stride] : llvm::zip(p.getLow(), dstStrides))
          offset += low * stride;
        auto shape = p.getOperand().getType().getShape();
        std::vector<int64_t> s(shape.begin(), shape.end()), ss = stridesOf(shape),
            ds(dstStrides.begin(), dstStrides.end());
        Instr in{fb::Opcode::Pad, {id(p.getOperand())}, {id(p.getResult())}};
        in.copy = fb::CreateCopySpecDirect(fbb, &s, 0, &ss, offset, &ds);
        emit(op, std::move(in));
        return success();
      })
      .Case([&](SoftmaxGradOp s) {
        auto shape = s.getType().getShape();
        int64_t rank = shape.size(), dim = static_cast<int64_t>(s.getDim());
        if (dim < 0)
          dim += rank;
        Instr in{fb::Opcode::SoftmaxGrad, operandIds(), arenaResults()};
        in.ints = {product(shape.take_front(dim)), shape[dim],
                   product(shape.drop_front(dim + 1))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](LayerNormGradOp l) {
        auto shape = l.getX().getType().getShape();
        Instr in{fb::Opcode::LayerNormGrad, operandIds(), arenaResults()};
        in.ints = {product(shape.drop_back()), shape.back()};
        in.floats = {l.getEps().convertToFloat()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](RmsNormGradOp l) {
        auto shape = l.getX().getType().getShape();
        Instr in{fb::Opcode::RmsNormGrad, operandIds(), arenaResults()};
        in.ints = {product(shape.drop_back()), shape.back()};
        in.floats = {l.getEps().convertToFloat()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](EmbeddingGradOp e) {
        Instr in{fb::Opcode::EmbeddingGrad, operandIds(), arenaResults()};
        in.ints = {static_cast<int64_t>(e.getVocab()), e.getType().getShape()[1],
                   e.getIds().getType().getNumElements(),
                   e.getVocabAxis() ? ax(static_cast<int64_t>(*e.getVocabAxis())) : -1};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](AttentionGradOp a) {
        auto q = a.getQ().getType().getShape(), k = a.getK().getType().getShape(),
             v = a.getV().getType().getShape();
        float scale = a.getScale() ? a.getScale()->convertToFloat()
                                   : 1.0f / std::sqrt(static_cast<float>(q[3]));
        Instr in{fb::Opcode::AttentionGrad, operandIds(), arenaResults()};
        in.ints = {q[0], q[1], q[2], k[2], q[3], v[3], a.getCausal(), bf16};
        in.floats = {scale};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](CrossEntropyGradOp c) {
        auto logits = c.getLogits().getType().getShape();
        Instr in{fb::Opcode::CrossEntropyGrad, operandIds(), arenaResults()};
        in.ints = {product(logits.drop_back()), logits.back()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](VocabShardStatsOp v) {
        auto logits = v.getLogits().getType().getShape();
        Instr in{fb::Opcode::VocabShardStats, operandIds(), arenaResults()};
        in.ints = {product(logits.drop_back()), logits.back(),
                   ax(static_cast<int64_t>(v.getVocabAxis()))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](VocabShardStatsGradOp v) {
        auto logits = v.getLogits().getType().getShape();
        Instr in{fb::Opcode::VocabShardStatsGrad, operandIds(), arenaResults()};
        in.ints = {product(logits.drop_back()), logits.back(),
                   ax(static_cast<int64_t>(v.getVocabAxis()))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](SgdUpdateOp u) {
        Instr in{fb::Opcode::SgdUpdate, operandIds(), arenaResults()};
        in.ints = {u.getParam().getType().getNumElements()};
        in.floats = {u.getLr().convertToFloat(), u.getMomentum().convertToFloat(),
                     u.getWeightDecay().convertToFloat()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](AdamwUpdateOp u) {
        Instr in{fb::Opcode::AdamwUpdate, operandIds(), arenaResults()};
        in.ints = {u.getParam().getType().getNumElements()};
        in.floats = {u.getLr().convertToFloat(), u.getBeta1().convertToFloat(),
                     u.getBeta2().convertToFloat(), u.getEps().convertToFloat(),
                     u.getWeightDecay().convertToFloat()};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::SendOp sd) -> LogicalResult {
        // The result (the op's echo of its input) is never read: no value.
        Instr in{fb::Opcode::Send, operandIds(), {}};
        in.ints = {cast<RankedTensorType>(sd.getInput().getType()).getNumElements(),
                   sd.getDestination()[0], ax(gridAxis(sd))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::RecvOp rv) -> LogicalResult {
        // The input only gives the shape: not an operand of the instruction.
        if (!rv.getSource() || rv.getSource()->size() != 1)
          return rv.emitError() << "a receive needs one static source";
        Instr in{fb::Opcode::Recv, {}, arenaResults()};
        in.ints = {cast<RankedTensorType>(rv.getType()).getNumElements(), (*rv.getSource())[0],
                   ax(gridAxis(rv))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::AllReduceOp a) -> LogicalResult {
        int64_t kind;
        switch (a.getReduction()) {
        case shard::ReductionKind::Sum: kind = 0; break;
        case shard::ReductionKind::Average: kind = 1; break;
        case shard::ReductionKind::Max: kind = 2; break;
        case shard::ReductionKind::Min: kind = 3; break;
        default:
          return a.emitError() << "the runtime has no all-reduce for this reduction";
        }
        Instr in{fb::Opcode::AllReduce, operandIds(), arenaResults()};
        in.ints = {kind, cast<RankedTensorType>(a.getType()).getNumElements(), ax(gridAxis(a))};
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::ReduceScatterOp rs) -> LogicalResult {
        if (rs.getReduction() != shard::ReductionKind::Sum &&
            rs.getReduction() != shard::ReductionKind::Average)
          return rs.emitError() << "the runtime reduce-scatters by sum or average only";
        Instr in{fb::Opcode::ReduceScatter, operandIds(), arenaResults()};
        in.ints = {rs.getReduction() == shard::ReductionKind::Sum ? 0 : 1,
                   cast<RankedTensorType>(rs.getType()).getNumElements()};
        withOuter(in.ints, rs.getInput().getType(), rs.getScatterAxis().getSExtValue(),
                  ax(gridAxis(rs)));
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::AllSliceOp sl) -> LogicalResult {
        Instr in{fb::Opcode::AllSlice, operandIds(), arenaResults()};
        in.ints = {cast<RankedTensorType>(sl.getType()).getNumElements()};
        withOuter(in.ints, sl.getInput().getType(), sl.getSliceAxis().getSExtValue(),
                  ax(gridAxis(sl)));
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::AllGatherOp ag) -> LogicalResult {
        Instr in{fb::Opcode::AllGather, operandIds(), arenaResults()};
        in.ints = {cast<RankedTensorType>(ag.getInput().getType()).getNumElements()};
        withOuter(in.ints, ag.getInput().getType(), ag.getGatherAxis().getSExtValue(),
                  ax(gridAxis(ag)));
        emit(op, std::move(in));
        return success();
      })
      .Case([&](shard::AllToAllOp aa) -> LogicalResult {
        auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(aa, aa.getGridAttr());
        if (!grid)
          return aa.emitError() << "all_to_all on an unknown grid";
        auto in = cast<RankedTensorType>(aa.getInput().getType());
        auto res = cast<RankedTensorType>(aa.getType());
        const int64_t ranks = grid.getShape()[gridAxis(aa)];
        Instr i{fb::Opcode::AllToAll, operandIds(), arenaResults()};
        i.ints = {in.getNumElements() / ranks,
                  product(in.getShape().take_front(aa.getSplitAxis().getSExtValue())),
                  product(res.getShape().take_front(aa.getConcatAxis().getSExtValue())),
                  ax(gridAxis(aa))};
        emit(op, std::move(i));
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitError()
               << "the CPU backend has no kernel for " << other->getName()
               << "; was the lowering pipeline run?";
      });
}

fb::EwOp ewOpOf(Operation *op) {
  return llvm::TypeSwitch<Operation *, fb::EwOp>(op)
      .Case([](AddOp) { return fb::EwOp::Add; })
      .Case([](SubOp) { return fb::EwOp::Sub; })
      .Case([](MulOp) { return fb::EwOp::Mul; })
      .Case([](DivOp) { return fb::EwOp::Div; })
      .Case([](MaxOp) { return fb::EwOp::Max; })
      .Case([](MinOp) { return fb::EwOp::Min; })
      .Case([](PowOp) { return fb::EwOp::Pow; })
      .Case([](NegOp) { return fb::EwOp::Neg; })
      .Case([](ExpOp) { return fb::EwOp::Exp; })
      .Case([](LogOp) { return fb::EwOp::Log; })
      .Case([](SqrtOp) { return fb::EwOp::Sqrt; })
      .Case([](RsqrtOp) { return fb::EwOp::Rsqrt; })
      .Case([](TanhOp) { return fb::EwOp::Tanh; })
      .Case([](SigmoidOp) { return fb::EwOp::Sigmoid; })
      .Case([](ReluOp) { return fb::EwOp::Relu; })
      .Case([](SiluOp) { return fb::EwOp::Silu; })
      .Case([](GeluOp g) {
        return g.getApproximate() == "tanh" ? fb::EwOp::GeluTanh
                                            : fb::EwOp::Gelu;
      })
      .Case([](ReluGradOp) { return fb::EwOp::ReluGrad; })
      .Case([](SiluGradOp) { return fb::EwOp::SiluGrad; })
      .Case([](SigmoidGradOp) { return fb::EwOp::SigmoidGrad; })
      .Case([](TanhGradOp) { return fb::EwOp::TanhGrad; })
      .Case([](GeluGradOp g) {
        return g.getApproximate() == "tanh" ? fb::EwOp::GeluTanhGrad
                                            : fb::EwOp::GeluGrad;
      })
      .Case([](MaxGradOp) { return fb::EwOp::MaxGrad; })
      .Case([](MinGradOp) { return fb::EwOp::MinGrad; })
      .Case([](ScaleOp) { return fb::EwOp::Scale; })
      .Default([](Operation *) { return fb::EwOp::Add; });
}

// A matmul that weft-fold-gemm-epilogue paired with the fused op after it:
// one Matmul instruction whose epilogue computes that op's results.
LogicalResult Writer::lowerFoldedMatmul(MatmulOp m, std::vector<int64_t> ints) {
  auto fused = dyn_cast_or_null<FusedOp>(m->getNextNode());
  std::optional<GemmEpilogueMatch> match =
      fused ? matchGemmEpilogue(m, fused) : std::nullopt;
  if (!match)
    return m.emitError() << "is marked " << kGemmEpilogueAttr
                         << " but the op after it is not an epilogue it computes";
  if (failed(requireF32(fused)))
    return failure();
  Instr in{fb::Opcode::Matmul, {id(m.getLhs()), id(m.getRhs())}, {}};
  for (Value v : match->operands)
    in.operands.push_back(id(v));
  addResults(fused);
  if (match->biasGrad) {
    if (match->biasGrad != fused->getNextNode())
      return m.emitError() << "is marked " << kGemmEpilogueAttr
                           << " but its bias gradient's reduce is not right after it";
    addResults(match->biasGrad);
  }
  for (Value v : match->results)
    in.results.push_back(id(v));
  in.ints = std::move(ints);
  in.ints.push_back(static_cast<int64_t>(match->kind));
  emit(m, std::move(in));
  return success();
}

LogicalResult Writer::lowerFused(FusedOp op) {
  // Folded into the matmul before it (lowerFoldedMatmul), which wrote it.
  if (auto m = dyn_cast_or_null<MatmulOp>(op->getPrevNode()))
    if (m->hasAttr(kGemmEpilogueAttr))
      return success();
  Block &body = op.getBody().front();
  auto shape = shapeOf(op.getResult(0).getType());
  auto contiguous = stridesOf(shape);
  bool integer = isa<IntegerType>(
      cast<RankedTensorType>(op.getResult(0).getType()).getElementType());

  // Registers: loads first, then one per step. A block argument used
  // directly is one contiguous load; each broadcast is a strided load.
  DenseMap<Value, uint32_t> reg;
  std::vector<fbs::Offset<fb::FusedLoad>> loads;
  std::vector<fb::FusedStep> steps;
  ::weft::cuda::FusedProgramSpec spec; // for --target=cuda
  auto load = [&](Value key, uint32_t operand, std::vector<int64_t> strides) {
    reg[key] = loads.size();
    loads.push_back(fb::CreateFusedLoadDirect(fbb, operand, &strides));
    spec.loads.push_back({operand, strides});
  };
  for (BlockArgument arg : body.getArguments())
    if (llvm::any_of(arg.getUsers(), [](Operation *u) {
          return !isa<BroadcastInDimOp>(u);
        }))
      load(arg, arg.getArgNumber(), contiguous);
  for (Operation &inner : body.without_terminator())
    if (auto bc = dyn_cast<BroadcastInDimOp>(inner)) {
      auto inShape = bc.getOperand().getType().getShape();
      auto inStrides = stridesOf(inShape);
      std::vector<int64_t> strides(shape.size(), 0);
      for (auto [i, d] : llvm::enumerate(bc.getDims()))
        if (inShape[i] != 1)
          strides[d] = inStrides[i];
      load(bc.getResult(), cast<BlockArgument>(bc.getOperand()).getArgNumber(),
           strides);
    }
  uint32_t next = loads.size();
  for (Operation &inner : body.without_terminator()) {
    if (isa<BroadcastInDimOp>(inner))
      continue;
    uint32_t a = reg.lookup(inner.getOperand(0));
    uint32_t b = inner.getNumOperands() > 1 ? reg.lookup(inner.getOperand(1)) : 0;
    uint32_t c = inner.getNumOperands() > 2 ? reg.lookup(inner.getOperand(2)) : 0;
    float imm = 0;
    if (auto scale = dyn_cast<ScaleOp>(inner))
      imm = scale.getFactor().convertToFloat();
    steps.push_back(fb::FusedStep(ewOpOf(&inner), a, b, c, imm));
    reg[inner.getResult(0)] = next++;
  }
  std::vector<uint32_t> outputs;
  for (Value y : body.getTerminator()->getOperands())
    outputs.push_back(reg.lookup(y));

  std::vector<uint32_t> operands;
  for (Value v : op.getInputs())
    operands.push_back(id(v));
  Instr in{fb::Opcode::Fused, operands, addResults(op)};
  in.fused = fb::CreateFusedProgramDirect(fbb, &shape, integer, &loads, &steps,
                                          &outputs);
  if (options.target == "cuda") {
    spec.shape = shape;
    spec.integer = integer;
    for (const fb::FusedStep &st : steps)
      spec.steps.push_back({st.op(), st.a(), st.b(), st.c(), st.imm()});
    spec.outputs = outputs;
    for (Value v : op.getInputs())
      spec.operand_types.push_back(static_cast<::weft::DType>(dtypeOf(v.getType())));
    for (Value v : op.getResults())
      spec.result_types.push_back(static_cast<::weft::DType>(dtypeOf(v.getType())));
    in.kernel = ::weft::cuda::FusedKernelName(spec);
    cudaKernels.emplace(in.kernel, ::weft::cuda::FusedKernelSource(spec));
  }
  emit(op, std::move(in));
  return success();
}

LogicalResult Writer::addCudaKernels(Location loc,
                                     std::vector<fbs::Offset<fb::KernelBinary>> &out) {
  std::string source = ::weft::cuda::FusedKernelPrelude();
  for (const auto &[name, body] : cudaKernels)
    source += "\n" + body;
  auto compiled = ::weft::cuda::CompileCuda(source, "weft_fused.cu", options.cudaArch);
  if (!compiled.ok())
    return emitError(loc) << std::string(compiled.status().message());
  auto add = [&](const std::string &target, const std::string &data) {
    std::vector<uint8_t> bytes(data.begin(), data.end());
    out.push_back(fb::CreateKernelBinaryDirect(fbb, "fused", target.c_str(), &bytes));
  };
  add(compiled->arch, compiled->cubin);
  add("compute_" + compiled->arch.substr(3), compiled->ptx);
  add("cuda-source", source);
  return success();
}

// Devices along `axis` of @mesh (a vocabulary shard's share), 1 without one.
int64_t shardsAlong(Operation *op, std::optional<uint64_t> axis) {
  auto grid = op->getParentOfType<ModuleOp>().lookupSymbol<shard::GridOp>("mesh");
  if (!axis || !grid || *axis >= grid.getShape().size())
    return 1;
  return grid.getShape()[*axis];
}

// For integer inputs that index something, the bound of valid values (of
// the whole vocabulary when the table or logits are its shards).
int64_t intBound(Value arg) {
  for (Operation *user : arg.getUsers()) {
    if (auto e = dyn_cast<EmbeddingOp>(user); e && e.getIds() == arg)
      return e.getTable().getType().getShape()[0] * shardsAlong(e, e.getVocabAxis());
    if (auto c = dyn_cast<CrossEntropyOp>(user); c && c.getLabels() == arg)
      return c.getLogits().getType().getShape().back();
    if (auto v = dyn_cast<VocabShardStatsOp>(user); v && v.getLabels() == arg)
      return v.getLogits().getType().getShape().back() * shardsAlong(v, v.getVocabAxis());
    // A pipeline's microbatch slices and reshapes keep the values.
    if (isa<SliceOp, ReshapeOp>(user))
      if (int64_t bound = intBound(user->getResult(0)))
        return bound;
  }
  return 0;
}

fbs::Offset<fb::InitSpec> initSpec(fbs::FlatBufferBuilder &fbb,
                                   DictionaryAttr init) {
  auto num = [&](StringRef key, double dflt) {
    if (auto f = init.getAs<FloatAttr>(key))
      return static_cast<float>(f.getValueAsDouble());
    if (auto i = init.getAs<IntegerAttr>(key))
      return static_cast<float>(i.getInt());
    return static_cast<float>(dflt);
  };
  StringRef dist = init.getAs<StringAttr>("dist").getValue();
  if (dist == "zeros")
    return fb::CreateInitSpec(fbb, fb::Dist::Zeros);
  if (dist == "ones")
    return fb::CreateInitSpec(fbb, fb::Dist::Ones);
  if (dist == "normal")
    return fb::CreateInitSpec(fbb, fb::Dist::Normal, num("mean", 0), num("std", 1));
  return fb::CreateInitSpec(fbb, fb::Dist::Uniform, num("low", 0), num("high", 1));
}

LogicalResult Writer::run(ArrayRef<func::FuncOp> fns, StringRef source, llvm::raw_ostream &os) {
  // The shared tables, by name in order of first appearance: a pipeline
  // rank lists only its own parameters (and their optimizer state).
  std::vector<fbs::Offset<fb::InputSpec>> inputs;
  std::vector<fbs::Offset<fb::ParamSpec>> params, states;
  std::vector<fbs::Offset<fb::OutputSpec>> outputs;
  llvm::StringMap<uint64_t> paramIndex, stateIndex;
  auto tensorSpec = [&](func::FuncOp f, BlockArgument arg, StringRef name) {
    // Inputs split over the mesh are described by their global shape.
    auto shape = shapeOf(arg.getType());
    if (auto global = f.getArgAttrOfType<DenseI64ArrayAttr>(arg.getArgNumber(), "weft.global_shape"))
      shape.assign(global.asArrayRef().begin(), global.asArrayRef().end());
    return fb::CreateTensorSpecDirect(fbb, name.str().c_str(), dtypeOf(arg.getType()), &shape);
  };
  auto splitGroups = [&](func::FuncOp f, unsigned i) -> int32_t {  // an LSTM's per-gate split
    auto groups = f.getArgAttrOfType<IntegerAttr>(i, "weft.split_groups");
    return groups ? static_cast<int32_t>(groups.getInt()) : 1;
  };
  auto splitDimOf = [](func::FuncOp f, unsigned i) -> int32_t {
    auto d = f.getArgAttrOfType<IntegerAttr>(i, "weft.split_dim");
    return d ? static_cast<int32_t>(d.getInt()) : -1;
  };
  std::string precision(artifact::kPrecisionF32);
  ModuleOp module = func::FuncOp(fns.front())->getParentOfType<ModuleOp>();
  if (auto p = module->getAttrOfType<StringAttr>(kPrecisionAttr)) {
    if (!isPrecision(p.getValue()))
      return module.emitError() << kPrecisionAttr << " = \"" << p.getValue()
                                << "\": expected \"f32\" or \"bf16\"";
    precision = p.getValue().str();
  }
  bf16 = precision == artifact::kPrecisionBf16;
  unsigned numInputs = 0;
  for (auto [r, cf] : llvm::enumerate(fns)) {
    func::FuncOp f = cf;
    unsigned seenInputs = 0;
    for (BlockArgument arg : f.getArguments()) {
      unsigned i = arg.getArgNumber();
      if (auto name = f.getArgAttrOfType<StringAttr>(i, WeftDialect::kInput)) {
        ++seenInputs;
        if (r == 0) {
          // The ids' bound comes from the op that reads them, on whichever
          // pipeline rank that is (labels: the last).
          int64_t bound = 0;
          for (func::FuncOp other : fns)
            for (BlockArgument same : other.getArguments())
              if (other.getArgAttr(same.getArgNumber(), WeftDialect::kInput) == name)
                bound = std::max(bound, intBound(same));
          inputs.push_back(fb::CreateInputSpec(fbb, tensorSpec(f, arg, name.getValue()), bound,
                                               static_cast<bool>(f.getArgAttr(i, "weft.global_shape"))));
        }
      } else if (auto sname = f.getArgAttrOfType<StringAttr>(i, "weft.state")) {
        if (stateIndex.count(sname.getValue()))
          continue;
        auto init = f.getArgAttrOfType<DictionaryAttr>(i, WeftDialect::kInit);
        stateIndex[sname.getValue()] = states.size();
        const int32_t splitDim = splitDimOf(f, i);
        states.push_back(fb::CreateParamSpec(
            fbb, tensorSpec(f, arg, sname.getValue()), initSpec(fbb, init),
            /*split=*/static_cast<bool>(f.getArgAttr(i, "weft.zero_slice")) ||
                (splitDim < 0 && static_cast<bool>(f.getArgAttr(i, "weft.global_shape"))),
            splitDim, splitGroups(f, i)));
      } else {
        auto pname = f.getArgAttrOfType<StringAttr>(i, WeftDialect::kParam);
        if (paramIndex.count(pname.getValue()))
          continue;
        auto init = f.getArgAttrOfType<DictionaryAttr>(i, WeftDialect::kInit);
        paramIndex[pname.getValue()] = params.size();
        params.push_back(fb::CreateParamSpec(fbb, tensorSpec(f, arg, pname.getValue()),
                                             initSpec(fbb, init), /*split=*/false,
                                             splitDimOf(f, i), splitGroups(f, i)));
      }
    }
    if (r == 0)
      numInputs = seenInputs;
    else if (seenInputs != numInputs)
      return f.emitError() << "pipeline rank " << r << " has " << seenInputs
                           << " inputs, rank 0 " << numInputs;
  }

  // The mesh, outermost axis first: pp, dp, tp. The grid lists pp last.
  std::vector<std::pair<std::string, int64_t>> gridAxes; // in the grid's order
  if (auto m = module->getAttrOfType<DictionaryAttr>("weft.mesh"))
    for (StringRef name : {"dp", "tp", "pp"})
      if (auto size = m.getAs<IntegerAttr>(name))
        gridAxes.push_back({name.str(), size.getInt()});
  std::vector<fbs::Offset<fb::MeshAxis>> mesh;
  int64_t numRanks = 1, pp = 1;
  const bool hasPp = !gridAxes.empty() && gridAxes.back().first == "pp";
  axisOrder.assign(gridAxes.size(), 0);
  for (size_t g = 0; g < gridAxes.size(); ++g)
    axisOrder[g] = hasPp ? (g + 1 == gridAxes.size() ? 0 : g + 1) : g;
  if (hasPp) {
    pp = gridAxes.back().second;
    mesh.push_back(fb::CreateMeshAxisDirect(fbb, "pp", pp));
  }
  for (size_t g = 0; g + (hasPp ? 1 : 0) < gridAxes.size(); ++g)
    mesh.push_back(fb::CreateMeshAxisDirect(fbb, gridAxes[g].first.c_str(), gridAxes[g].second));
  for (auto &[name, size] : gridAxes)
    numRanks *= size;
  if (static_cast<int64_t>(fns.size()) != pp)
    return module.emitError() << "the artifact needs one program per pp rank (" << pp << "), got "
                              << fns.size();

  std::vector<fbs::Offset<fb::RankProgram>> programs;
  for (auto [r, cf] : llvm::enumerate(fns)) {
    startRank(cf);
    std::vector<uint32_t> inputValues, outputValues;
    std::vector<uint32_t> paramValues(params.size(), artifact::kAbsent),
        stateValues(states.size(), artifact::kAbsent);
    llvm::StringMap<std::pair<fb::Storage, uint64_t>> storageByName;
    unsigned input = 0;
    for (BlockArgument arg : fn.getArguments()) {
      unsigned i = arg.getArgNumber();
      if (fn.getArgAttr(i, WeftDialect::kInput)) {
        inputValues.push_back(addValue(arg, fb::Storage::Input, input++));
      } else if (auto sname = fn.getArgAttrOfType<StringAttr>(i, "weft.state")) {
        uint64_t index = stateIndex.lookup(sname.getValue());
        storageByName[sname.getValue()] = {fb::Storage::State, index};
        stateValues[index] = addValue(arg, fb::Storage::State, index);
      } else {
        auto pname = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kParam);
        uint64_t index = paramIndex.lookup(pname.getValue());
        storageByName[pname.getValue()] = {fb::Storage::Param, index};
        paramValues[index] = addValue(arg, fb::Storage::Param, index);
      }
    }
    Operation *ret = fn.getBody().front().getTerminator();
    // Outputs are numbered among the results marked weft.output; updates
    // overwrite their parameter or state.
    unsigned numOutputs = 0;
    for (auto [i, v] : llvm::enumerate(ret->getOperands())) {
      if (auto target = fn.getResultAttrOfType<StringAttr>(i, "weft.update")) {
        auto it = storageByName.find(target.getValue());
        if (it == storageByName.end())
          return fn.emitError() << "result #" << i << " updates unknown '"
                                << target.getValue() << "'";
        updateTarget.try_emplace(v, it->second);
      } else {
        outputIndex.try_emplace(v, numOutputs++);
      }
    }
    for (Operation &op : fn.getBody().front().without_terminator())
      if (failed(lower(&op)))
        return failure();

    for (auto [i, v] : llvm::enumerate(ret->getOperands())) {
      if (auto target = fn.getResultAttrOfType<StringAttr>(i, "weft.update")) {
        // An update that was not computed in place (a value returned twice,
        // say) is copied over its parameter or state.
        ValueEntry e = entries[id(v)];
        auto [storage, index] = storageByName.lookup(target.getValue());
        if (e.storage != storage || e.index != index) {
          uint32_t dst = entries.size();
          entries.push_back({e.dtype, e.shape, storage, index});
          std::vector<int64_t> strides = stridesOf(e.shape);
          Instr in{fb::Opcode::Copy, {id(v)}, {dst}};
          in.copy = fb::CreateCopySpecDirect(fbb, &e.shape, 0, &strides, 0, &strides);
          emit(ret, std::move(in));
        }
        continue;
      }
      outputValues.push_back(id(v));
      if (r != 0)
        continue; // every pp rank returns the same outputs (the loss)
      // Outputs keep their names; gradients (weftc --train=grad) are "grad:<param>".
      auto name = fn.getResultAttrOfType<StringAttr>(i, WeftDialect::kOutput);
      auto grad = fn.getResultAttrOfType<StringAttr>(i, "weft.grad");
      std::string outName = name ? name.getValue().str()
                            : grad ? ("grad:" + grad.getValue()).str()
                                   : ("result" + Twine(i)).str();
      auto splitDim = fn.getResultAttrOfType<IntegerAttr>(i, "weft.split_dim");
      outputs.push_back(fb::CreateOutputSpecDirect(
          fbb, outName.c_str(), static_cast<bool>(fn.getResultAttr(i, WeftDialect::kLoss)),
          static_cast<bool>(fn.getResultAttr(i, "weft.global_shape")),
          splitDim ? static_cast<int32_t>(splitDim.getInt()) : -1));
    }
    if (outputValues.size() != outputs.size())
      return fn.emitError() << "pipeline rank " << r << " returns " << outputValues.size()
                            << " outputs, rank 0 " << outputs.size();

    std::vector<fbs::Offset<fb::ValueDesc>> values;
    for (const ValueEntry &e : entries)
      values.push_back(fb::CreateValueDescDirect(fbb, e.dtype, &e.shape, e.storage, e.index));
    auto arena = fn->getAttrOfType<IntegerAttr>("weft.arena_bytes");
    if (!arena)
      return fn.emitError() << "no memory plan: run weft-plan-memory first";
    auto peakBytes = [&](StringRef name) -> uint64_t {
      auto attr = fn->getAttrOfType<IntegerAttr>(name);
      return attr ? attr.getInt() : 0;
    };
    programs.push_back(fb::CreateRankProgramDirect(
        fbb, &values, &inputValues, &paramValues, &stateValues, &outputValues, &instructions,
        arena.getInt(), peakBytes("weft.gradient_bytes"), peakBytes("weft.activation_bytes")));
  }
  // Within a pp rank every dp x tp rank runs the same program on its slice:
  // the ranks share one table. Rank numbers are pp-major.
  std::vector<fbs::Offset<fb::RankProgram>> ranks;
  for (int64_t n = 0; n < numRanks; ++n)
    ranks.push_back(programs[n / (numRanks / pp)]);

  fbs::Offset<fb::Pipeline> pipeline = 0;
  if (auto info = module->getAttrOfType<DictionaryAttr>("weft.pipeline")) {
    auto get = [&](StringRef key) { return info.getAs<IntegerAttr>(key).getInt(); };
    const std::string kind = info.getAs<StringAttr>("schedule").getValue().str();
    ::weft::pipeline::ScheduleOptions options;
    options.kind = *::weft::pipeline::ParseScheduleKind(kind);
    options.stages = get("stages");
    options.microbatches = get("microbatches");
    options.virtual_stages = get("virtual_stages");
    auto schedule = ::weft::pipeline::BuildSchedule(options);
    if (!schedule.ok())
      return module.emitError() << std::string(schedule.status().message());
    std::vector<fbs::Offset<fb::PipelineStage>> stageTables;
    for (Attribute a : info.getAs<ArrayAttr>("stage_info")) {
      auto d = cast<DictionaryAttr>(a);
      auto i64 = [&](StringRef key) { return d.getAs<IntegerAttr>(key).getInt(); };
      auto f64 = [&](StringRef key) { return d.getAs<FloatAttr>(key).getValueAsDouble(); };
      stageTables.push_back(fb::CreatePipelineStage(fbb, i64("first_block"), i64("last_block"),
                                                    f64("forward_cost"), f64("backward_cost"),
                                                    i64("stash_bytes"), i64("param_bytes")));
    }
    std::vector<fbs::Offset<fb::PipelineRank>> rankLists;
    for (const auto &list : schedule->ranks) {
      std::vector<fb::PipelineOp> ops;
      for (const auto &inst : list)
        ops.emplace_back(static_cast<fb::PipelineOpKind>(inst.kind), inst.microbatch, inst.chunk,
                         inst.peer);
      rankLists.push_back(fb::CreatePipelineRankDirect(fbb, &ops));
    }
    pipeline = fb::CreatePipelineDirect(fbb, kind.c_str(), options.stages, options.virtual_stages,
                                        options.microbatches, &stageTables, &rankLists);
  }

  // The planner's choice (weftc --plan=auto sets weft.plan on the module).
  fbs::Offset<fb::PlanInfo> plan = 0;
  if (auto d = fns.front()->getParentOfType<ModuleOp>()->getAttrOfType<DictionaryAttr>(
          "weft.plan")) {
    auto str = [&](StringRef key) {
      auto a = d.getAs<StringAttr>(key);
      return fbb.CreateString(a ? a.getValue().str() : std::string());
    };
    auto i64 = [&](StringRef key) {
      auto a = d.getAs<IntegerAttr>(key);
      return a ? static_cast<int32_t>(a.getInt()) : 0;
    };
    auto f64 = [&](StringRef key) {
      auto a = d.getAs<FloatAttr>(key);
      return a ? a.getValueAsDouble() : 0.0;
    };
    auto cluster = str("cluster"), kind = str("device_kind"), summary = str("summary");
    plan = fb::CreatePlanInfo(fbb, cluster, kind, i64("devices_per_node"), i64("nodes"), summary,
                              f64("step_time_s"), f64("compute_s"), f64("communication_s"),
                              f64("bubble_s"), f64("tflops_per_device"));
  }
  std::vector<fbs::Offset<fb::KernelBinary>> kernels;
  if (options.target == "cuda" &&
      failed(addCudaKernels(func::FuncOp(fns.front()).getLoc(), kernels)))
    return failure();
  auto root = fb::CreateArtifactDirect(fbb, artifact::kFormatVersion, source.str().c_str(), &inputs,
                                       &params, &outputs, &states, &constants, &mesh, &ranks,
                                       kernels.empty() ? nullptr : &kernels, pipeline, plan,
                                       precision.c_str());
  fb::FinishArtifactBuffer(fbb, root);
  std::string header = artifact::MakeHeader(fbb.GetBufferPointer(), fbb.GetSize());
  os.write(header.data(), header.size());
  os.write(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
  return success();
}

} // namespace

bool mlir::weft::haveCudaTarget() { return ::weft::cuda::HaveNvrtc(); }

bool mlir::weft::isPrecision(StringRef precision) {
  return artifact::IsPrecision(std::string_view(precision.data(), precision.size()));
}

std::string mlir::weft::precisionSummary(StringRef precision) {
  return std::string(
      artifact::PrecisionSummary(std::string_view(precision.data(), precision.size())));
}

LogicalResult mlir::weft::writeArtifact(ModuleOp module, StringRef source,
                                        llvm::raw_ostream &os,
                                        const ArtifactOptions &options) {
  // A training artifact runs @train_step; an inference one @forward.
  func::FuncOp fn = module.lookupSymbol<func::FuncOp>("train_step");
  if (!fn)
    fn = getForward(module);
  if (!fn)
    return module.emitError() << "no @forward to compile";
  Writer writer(options);
  return writer.run({fn}, source, os);
}

LogicalResult mlir::weft::writePipelineArtifact(ArrayRef<ModuleOp> ranks, StringRef source,
                                                llvm::raw_ostream &os,
                                                const ArtifactOptions &options) {
  SmallVector<func::FuncOp> fns;
  for (ModuleOp m : ranks) {
    auto fn = m.lookupSymbol<func::FuncOp>("train_step");
    if (!fn)
      return m.emitError() << "a pipeline rank without @train_step";
    fns.push_back(fn);
  }
  Writer writer(options);
  return writer.run(fns, source, os);
}
