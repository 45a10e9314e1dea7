// Every weft op has a ShardingInterface model, so that upstream
// sharding-propagation and shard-partition accept whole models; an op added
// without one fails here. weft.fused and weft.yield are exempt: fused regions
// are built by lowering after partitioning, yield is a terminator, which
// sharding-propagation skips, and weft.reshard and weft.tp_gather are
// themselves changes of sharding (made by partitioning) that passes replace
// by collectives.
// The second test checks each model's shape on a real instance of every op:
// one indexing map per operand and result, each of the tensor's rank, one
// reduction kind per reduction loop, and what upstream's verifier wants.
#include "TestUtil.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"

#include <set>

using namespace mlir;

namespace {

const std::set<std::string> kExempt = {"weft.fused", "weft.yield", "weft.reshard",
                                       "weft.tp_gather"};

class ShardingInterfaceTest : public weft_test::WeftTest {
protected:
  std::vector<RegisteredOperationName> weftOps() {
    std::vector<RegisteredOperationName> ops;
    for (RegisteredOperationName name : ctx.getRegisteredOperations())
      if (name.getDialectNamespace() == "weft")
        ops.push_back(name);
    return ops;
  }
};

TEST_F(ShardingInterfaceTest, EveryWeftOpImplementsIt) {
  std::vector<std::string> missing;
  std::set<std::string> seen;
  for (RegisteredOperationName name : weftOps()) {
    std::string op = name.getStringRef().str();
    seen.insert(op);
    if (kExempt.count(op))
      // The check can tell: the exempt ops have no model.
      EXPECT_FALSE(name.hasInterface<shard::ShardingInterface>()) << op;
    else if (!name.hasInterface<shard::ShardingInterface>())
      missing.push_back(op);
  }
  EXPECT_TRUE(missing.empty()) << "no ShardingInterface model: " << ::testing::PrintToString(missing);
  // Not vacuous, and the exemptions still name real ops.
  EXPECT_GT(seen.size(), 50u);
  for (const std::string &op : kExempt)
    EXPECT_TRUE(seen.count(op)) << op << " is exempt but no longer exists";
}

// One instance of every op but the exempt ones.
const char *kEveryOp = R"mlir(
func.func @all(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %g: tensor<8xf32>, %i: tensor<4xi32>,
               %s: tensor<f32>, %t: tensor<16x8xf32>, %q: tensor<2x2x4x8xf32>,
               %x3: tensor<2x3x4xf32>, %b1: tensor<4x1xf32>) {
  %c = weft.constant dense<1.0> : tensor<4x8xf32>
  %e0 = weft.add %x, %y : tensor<4x8xf32>
  %e1 = weft.sub %x, %y : tensor<4x8xf32>
  %e2 = weft.mul %x, %y : tensor<4x8xf32>
  %e3 = weft.div %x, %y : tensor<4x8xf32>
  %e4 = weft.max %x, %y : tensor<4x8xf32>
  %e5 = weft.min %x, %y : tensor<4x8xf32>
  %e6 = weft.pow %x, %y : tensor<4x8xf32>
  %u0 = weft.neg %x : tensor<4x8xf32>
  %u1 = weft.exp %x : tensor<4x8xf32>
  %u2 = weft.log %x : tensor<4x8xf32>
  %u3 = weft.sqrt %x : tensor<4x8xf32>
  %u4 = weft.rsqrt %x : tensor<4x8xf32>
  %u5 = weft.tanh %x : tensor<4x8xf32>
  %u6 = weft.sigmoid %x : tensor<4x8xf32>
  %u7 = weft.relu %x : tensor<4x8xf32>
  %u8 = weft.silu %x : tensor<4x8xf32>
  %u9 = weft.gelu %x : tensor<4x8xf32>
  %ca = weft.cast %x : tensor<4x8xf32> to tensor<4x8xbf16>
  %l0 = weft.broadcast_in_dim %g, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %l1 = weft.broadcast_in_dim %b1, dims = [0, 2] : tensor<4x1xf32> -> tensor<4x3x5xf32>
  %l2 = weft.reshape %x3 : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %l3 = weft.transpose %x3, perm = [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %l4 = weft.slice %x3, start = [0, 1, 0], limit = [2, 3, 2] : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  %l5 = weft.concat %x, %y dim = 1 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  %l6 = weft.pad %x, low = [1, 0], high = [0, 2] : tensor<4x8xf32> -> tensor<5x10xf32>
  %m0 = weft.matmul %x, %t {transpose_b = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %r0 = weft.reduce "sum" %x, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  %r1 = weft.reduce "mean" %x, dims = [1] {keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %r2 = weft.softmax %x : tensor<4x8xf32>
  %r3 = weft.layer_norm %x, %g, %g : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r4 = weft.rms_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r5 = weft.embedding %t, %i : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %r6 = weft.attention %q, %q, %q {causal = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %r7 = weft.cross_entropy %x, %i : (tensor<4x8xf32>, tensor<4xi32>) -> tensor<f32>
  %g0 = weft.relu_grad %x, %y : tensor<4x8xf32>
  %g1 = weft.silu_grad %x, %y : tensor<4x8xf32>
  %g2 = weft.sigmoid_grad %x, %y : tensor<4x8xf32>
  %g3 = weft.tanh_grad %x, %y : tensor<4x8xf32>
  %g4 = weft.gelu_grad %x, %y : tensor<4x8xf32>
  %g5 = weft.max_grad %x, %y, %y : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %g6 = weft.min_grad %x, %y, %y : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %g7 = weft.scale %x, 0.5 : tensor<4x8xf32>
  %g8 = weft.softmax_grad %x, %y : tensor<4x8xf32>
  %g9:3 = weft.layer_norm_grad %x, %g, %y : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  %g10:2 = weft.rms_norm_grad %x, %g, %y : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>)
  %g11 = weft.embedding_grad %i, %x, vocab = 16 : (tensor<4xi32>, tensor<4x8xf32>) -> tensor<16x8xf32>
  %g12:3 = weft.attention_grad %q, %q, %q, %q : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>)
  %g13 = weft.cross_entropy_grad %x, %i, %s : (tensor<4x8xf32>, tensor<4xi32>, tensor<f32>) -> tensor<4x8xf32>
  %o0:2 = weft.sgd_update %x, %y, %y, %s {lr = 0.1 : f32, momentum = 0.9 : f32, weight_decay = 0.0 : f32} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
  %o1:3 = weft.adamw_update %x, %y, %y, %y, %s {lr = 0.001 : f32, beta1 = 0.9 : f32, beta2 = 0.999 : f32, eps = 1.0e-8 : f32, weight_decay = 0.01 : f32} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
  %tp = weft.tp_copy %x : tensor<4x8xf32>
  %vm = weft.reduce "max" %x, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  %vs = weft.vocab_shard_stats %x, %i, %vm {vocab_axis = 0 : i64} : (tensor<4x8xf32>, tensor<4xi32>, tensor<4xf32>) -> tensor<4x2xf32>
  %vg = weft.vocab_shard_stats_grad %x, %i, %vm, %vs {vocab_axis = 0 : i64} : (tensor<4x8xf32>, tensor<4xi32>, tensor<4xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return
}
)mlir";

TEST_F(ShardingInterfaceTest, ModelsAreWellFormedOnEveryOp) {
  OwningOpRef<ModuleOp> module = parse(kEveryOp);
  ASSERT_TRUE(module) << allDiagnostics();
  std::set<std::string> covered;
  ASSERT_GT(weftOps().size(), 50u);
  module->walk([&](Operation *op) {
    if (op->getDialect()->getNamespace() != "weft")
      return;
    std::string name = op->getName().getStringRef().str();
    covered.insert(name);
    auto iface = dyn_cast<shard::ShardingInterface>(op);
    ASSERT_TRUE(iface) << name;
    EXPECT_TRUE(succeeded(iface.verifyShardingInterfaceImpl())) << name;
    SmallVector<utils::IteratorType> loops = iface.getLoopIteratorTypes();
    SmallVector<AffineMap> maps = iface.getIndexingMaps();
    ASSERT_EQ(maps.size(), op->getNumOperands() + op->getNumResults()) << name;
    SmallVector<Type> types(op->getOperandTypes());
    llvm::append_range(types, op->getResultTypes());
    for (auto [map, type] : llvm::zip_equal(maps, types)) {
      EXPECT_EQ(map.getNumDims(), loops.size()) << name;
      EXPECT_EQ(static_cast<int64_t>(map.getNumResults()), cast<RankedTensorType>(type).getRank())
          << name;
    }
    size_t reductions = llvm::count(loops, utils::IteratorType::reduction);
    EXPECT_EQ(iface.getReductionLoopIteratorKinds().size(), reductions) << name;
  });
  // The module above must name every op the first test requires a model of.
  for (RegisteredOperationName name : weftOps()) {
    std::string op = name.getStringRef().str();
    if (!kExempt.count(op))
      EXPECT_TRUE(covered.count(op)) << op << " is missing from kEveryOp";
  }
}

} // namespace
