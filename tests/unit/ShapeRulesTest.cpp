// The shape rules as builders see them: result types inferred from operands
// (checked against shapes worked out by hand), and inference refusing bad
// operands without a location to report to.
#include "TestUtil.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

class ShapeRulesTest : public weft_test::WeftTest {
protected:
  ShapeRulesTest() : b(&ctx), loc(b.getUnknownLoc()) {
    module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    fn = func::FuncOp::create(b, loc, "f", b.getFunctionType({}, {}));
    b.setInsertionPointToStart(fn.addEntryBlock());
  }

  Value arg(ArrayRef<int64_t> shape, Type elt = nullptr) {
    return fn.front().addArgument(
        RankedTensorType::get(shape, elt ? elt : b.getF32Type()), loc);
  }

  static std::vector<int64_t> shapeOf(Value v) {
    auto s = llvm::cast<RankedTensorType>(v.getType()).getShape();
    return {s.begin(), s.end()};
  }

  OpBuilder b;
  Location loc;
  OwningOpRef<ModuleOp> module;
  func::FuncOp fn;
};

using Shape = std::vector<int64_t>;

TEST_F(ShapeRulesTest, MatmulBroadcastsA2DRhsOverTheBatch) {
  Value x = arg({2, 3, 4, 8}), w = arg({8, 5});
  EXPECT_EQ(shapeOf(MatmulOp::create(b, loc, x, w, false, false)),
            (Shape{2, 3, 4, 5}));
}

TEST_F(ShapeRulesTest, MatmulTransposesEitherSide) {
  Value a = arg({6, 4}), c = arg({7, 6});
  // a^T [4, 6] x c^T [6, 7] = [4, 7]
  EXPECT_EQ(shapeOf(MatmulOp::create(b, loc, a, c, true, true)),
            (Shape{4, 7}));
}

// An adaptor over a mismatched pair, as the parser or a builder would make.
struct MismatchedMatmul {
  explicit MismatchedMatmul(SmallVector<Value> operands)
      : operands(std::move(operands)), props(defaults(this->operands)),
        adaptor(this->operands,
                DictionaryAttr::get(this->operands[0].getContext()), props) {}
  static MatmulOp::Properties defaults(ArrayRef<Value> operands) {
    MatmulOp::Properties p;
    p.transpose_a = p.transpose_b = BoolAttr::get(operands[0].getContext(), false);
    return p;
  }
  SmallVector<Value> operands;
  MatmulOp::Properties props;
  MatmulOp::Adaptor adaptor;
};

TEST_F(ShapeRulesTest, MatmulRejectsAContractionMismatch) {
  MismatchedMatmul m({arg({4, 8}), arg({9, 5})});
  SmallVector<Type> types;
  EXPECT_TRUE(failed(MatmulOp::inferReturnTypes(&ctx, std::nullopt, m.adaptor,
                                                types)));
  EXPECT_TRUE(diagnostics.empty()) << "no location, so nothing is reported";
}

TEST_F(ShapeRulesTest, MatmulReportsAtTheLocationItIsGiven) {
  MismatchedMatmul m({arg({4, 8}), arg({9, 5})});
  SmallVector<Type> types;
  EXPECT_TRUE(failed(MatmulOp::inferReturnTypes(&ctx, loc, m.adaptor, types)));
  EXPECT_TRUE(sawDiagnostic("'weft.matmul' op contraction dimension mismatch: "
                            "operand #0 (lhs) has K = 8 but operand #1 (rhs) "
                            "has K = 9"))
      << allDiagnostics();
}

TEST_F(ShapeRulesTest, TransposeFollowsThePermutation) {
  Value x = arg({2, 3, 4});
  EXPECT_EQ(shapeOf(TransposeOp::create(b, loc, x, ArrayRef<int64_t>{2, 0, 1})),
            (Shape{4, 2, 3}));
}

TEST_F(ShapeRulesTest, ReduceDropsOrKeepsDimensions) {
  Value x = arg({2, 3, 4});
  EXPECT_EQ(shapeOf(ReduceOp::create(b, loc, x, "sum", ArrayRef<int64_t>{0, 2},
                                     false)),
            (Shape{3}));
  EXPECT_EQ(shapeOf(ReduceOp::create(b, loc, x, "mean", ArrayRef<int64_t>{0, 2},
                                     true)),
            (Shape{1, 3, 1}));
}

TEST_F(ShapeRulesTest, SliceAndConcatAreInverse) {
  Value x = arg({4, 10});
  Value left = SliceOp::create(b, loc, x, ArrayRef<int64_t>{0, 0},
                               ArrayRef<int64_t>{4, 3});
  Value right = SliceOp::create(b, loc, x, ArrayRef<int64_t>{0, 3},
                                ArrayRef<int64_t>{4, 10});
  EXPECT_EQ(shapeOf(left), (Shape{4, 3}));
  EXPECT_EQ(shapeOf(right), (Shape{4, 7}));
  EXPECT_EQ(shapeOf(ConcatOp::create(b, loc, ValueRange{left, right}, 1)),
            (Shape{4, 10}));
}

TEST_F(ShapeRulesTest, EmbeddingAppendsTheRowWidth) {
  Value table = arg({100, 16}), ids = arg({2, 5}, b.getI64Type());
  Value e = EmbeddingOp::create(b, loc, table, ids);
  EXPECT_EQ(shapeOf(e), (Shape{2, 5, 16}));
  EXPECT_TRUE(llvm::cast<RankedTensorType>(e.getType()).getElementType().isF32());
}

TEST_F(ShapeRulesTest, AttentionTakesVsHeadSizeAndQsLength) {
  Value q = arg({2, 4, 3, 16}), k = arg({2, 4, 9, 16}), v = arg({2, 4, 9, 32});
  EXPECT_EQ(shapeOf(AttentionOp::create(b, loc, q, k, v, b.getBoolAttr(false),
                                        FloatAttr())),
            (Shape{2, 4, 3, 32}));
}

TEST_F(ShapeRulesTest, CrossEntropyIsAScalarF32) {
  Value logits = arg({2, 5, 10}), labels = arg({2, 5}, b.getI32Type());
  Value loss = CrossEntropyOp::create(b, loc, logits, labels);
  auto t = llvm::cast<RankedTensorType>(loss.getType());
  EXPECT_EQ(t.getRank(), 0);
  EXPECT_TRUE(t.getElementType().isF32());
}

TEST_F(ShapeRulesTest, VerifierComparesTheDeclaredResultType) {
  auto module = parse(R"mlir(
    func.func @f(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x17xf32> {
      %0 = weft.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x17xf32>
      return %0 : tensor<4x17xf32>
    })mlir");
  EXPECT_FALSE(module);
  EXPECT_TRUE(sawDiagnostic("result type 'tensor<4x17xf32>' does not match the "
                            "inferred type 'tensor<4x16xf32>'"))
      << allDiagnostics();
}

} // namespace
