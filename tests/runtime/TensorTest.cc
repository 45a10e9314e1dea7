#include "weft/tensor.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

TEST(TensorTest, ZeroFilledAndSized) {
  Tensor t(DType::kBF16, {3, 5});
  EXPECT_EQ(t.num_elements(), 15);
  EXPECT_EQ(t.byte_size(), 30u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.data_as<uint16_t>()[i], 0);
  EXPECT_EQ(t.DebugString(), "bf16[3, 5]");
}

TEST(TensorTest, CopiesShareAndClonesDoNot) {
  Tensor t(DType::kF32, {2});
  Tensor view = t;
  Tensor copy = t.Clone();
  t.data_as<float>()[0] = 7;
  EXPECT_EQ(view.data_as<float>()[0], 7);
  EXPECT_EQ(copy.data_as<float>()[0], 0);
}

TEST(TensorTest, ScalarsHaveOneElement) {
  Tensor t(DType::kI64, {});
  EXPECT_EQ(t.num_elements(), 1);
  EXPECT_EQ(t.byte_size(), 8u);
}

TEST(TensorTest, ParsesDTypeNames) {
  EXPECT_EQ(*ParseDType("i32"), DType::kI32);
  EXPECT_FALSE(ParseDType("f64").ok());
}

}  // namespace
}  // namespace weft
