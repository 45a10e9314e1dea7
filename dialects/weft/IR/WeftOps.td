//===- WeftOps.td - the ops of the IR contract ---------------------------===//
//
// Names and semantics are fixed by DESIGN.md ("The IR contract"). Every op
// infers its result type from its operands and attributes (InferTypeOpAdaptor);
// the same rule is the verifier, which names the operand, attribute or
// dimension at fault (WeftShapes.cpp). Every op reports its FLOPs and bytes
// (CostOpInterface, WeftCost.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_OPS_TD
#define WEFT_OPS_TD

include "dialects/weft/IR/WeftDialect.td"
include "dialects/weft/IR/WeftInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"

// Every op is pure, has a verifier and a cost.
class Weft_BaseOp<string mnemonic, list<Trait> traits = []>
    : Weft_Op<mnemonic, !listconcat(traits, [Pure,
          DeclareOpInterfaceMethods<Weft_CostOpInterface>])> {
  let hasVerifier = 1;
}

// An op whose result type follows from its operands and attributes.
class Weft_ComputeOp<string mnemonic, list<Trait> traits = []>
    : Weft_BaseOp<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])>;

//===----------------------------------------------------------------------===//
// Constant
//===----------------------------------------------------------------------===//

def Weft_ConstantOp : Weft_ComputeOp<"constant", [ConstantLike]> {
  let summary = "a dense constant";
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$value attr-dict";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Weft_BinaryOp<string mnemonic, Type type, string sum>
    : Weft_ComputeOp<mnemonic> {
  let summary = sum;
  let arguments = (ins type:$lhs, type:$rhs);
  let results = (outs type:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:`
      custom<ElementwiseTypes>(type($lhs), type($rhs), type($result))
  }];
}

def Weft_AddOp : Weft_BinaryOp<"add", Weft_Tensor, "elementwise lhs + rhs">;
def Weft_SubOp : Weft_BinaryOp<"sub", Weft_Tensor, "elementwise lhs - rhs">;
def Weft_MulOp : Weft_BinaryOp<"mul", Weft_Tensor, "elementwise lhs * rhs">;
def Weft_DivOp : Weft_BinaryOp<"div", Weft_Tensor, "elementwise lhs / rhs">;
def Weft_MaxOp : Weft_BinaryOp<"max", Weft_Tensor, "elementwise maximum">;
def Weft_MinOp : Weft_BinaryOp<"min", Weft_Tensor, "elementwise minimum">;
def Weft_PowOp : Weft_BinaryOp<"pow", Weft_FloatTensor, "elementwise lhs ** rhs">;

class Weft_UnaryOp<string mnemonic, Type type, string sum,
                   dag extraArgs = (ins)>
    : Weft_ComputeOp<mnemonic> {
  let summary = sum;
  let arguments = !con((ins type:$operand), extraArgs);
  let results = (outs type:$result);
  let assemblyFormat = [{
    $operand attr-dict `:` custom<ElementwiseTypes>(type($operand), type($result))
  }];
}

def Weft_NegOp : Weft_UnaryOp<"neg", Weft_Tensor, "elementwise -x">;
def Weft_ExpOp : Weft_UnaryOp<"exp", Weft_FloatTensor, "elementwise e^x">;
def Weft_LogOp : Weft_UnaryOp<"log", Weft_FloatTensor, "elementwise natural log">;
def Weft_SqrtOp : Weft_UnaryOp<"sqrt", Weft_FloatTensor, "elementwise square root">;
def Weft_RsqrtOp : Weft_UnaryOp<"rsqrt", Weft_FloatTensor, "elementwise 1/sqrt(x)">;
def Weft_TanhOp : Weft_UnaryOp<"tanh", Weft_FloatTensor, "elementwise tanh">;
def Weft_SigmoidOp : Weft_UnaryOp<"sigmoid", Weft_FloatTensor, "elementwise 1/(1+e^-x)">;
def Weft_ReluOp : Weft_UnaryOp<"relu", Weft_Tensor, "elementwise max(x, 0)">;
def Weft_SiluOp : Weft_UnaryOp<"silu", Weft_FloatTensor, "elementwise x*sigmoid(x)">;
def Weft_GeluOp : Weft_UnaryOp<"gelu", Weft_FloatTensor,
    "elementwise GELU, exact (erf) or with the tanh approximation",
    (ins DefaultValuedAttr<StrAttr, "\"none\"">:$approximate)>;

def Weft_CastOp : Weft_BaseOp<"cast"> {
  let summary = "converts the element type; the shape is kept";
  let arguments = (ins Weft_Tensor:$operand);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$operand attr-dict `:` type($operand) `to` type($result)";
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

def Weft_BroadcastInDimOp : Weft_BaseOp<"broadcast_in_dim"> {
  let summary = "broadcasts to a larger shape; dims[i] is where operand dim i lands";
  let arguments = (ins Weft_Tensor:$operand, DenseI64ArrayAttr:$dims);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `dims` `=` $dims attr-dict `:` type($operand) `->` type($result)
  }];
}

def Weft_ReshapeOp : Weft_BaseOp<"reshape"> {
  let summary = "row-major reshape to a result of the same element count";
  let arguments = (ins Weft_Tensor:$operand);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$operand attr-dict `:` type($operand) `->` type($result)";
}

def Weft_TransposeOp : Weft_ComputeOp<"transpose"> {
  let summary = "permutes dimensions: result dim i is operand dim perm[i]";
  let arguments = (ins Weft_Tensor:$operand, DenseI64ArrayAttr:$perm);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `perm` `=` $perm attr-dict `:` type($operand) `->` type($result)
  }];
}

def Weft_SliceOp : Weft_ComputeOp<"slice"> {
  let summary = "the box [start, limit) of the operand, unit stride";
  let arguments = (ins Weft_Tensor:$operand, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$limit);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `start` `=` $start `,` `limit` `=` $limit attr-dict `:`
      type($operand) `->` type($result)
  }];
}

def Weft_ConcatOp : Weft_ComputeOp<"concat"> {
  let summary = "joins tensors along dimension `dim`";
  let arguments = (ins Variadic<Weft_Tensor>:$inputs, I64Attr:$dim);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $inputs `dim` `=` $dim attr-dict `:` functional-type($inputs, $result)
  }];
}

//===----------------------------------------------------------------------===//
// Contractions, reductions and normalisations
//===----------------------------------------------------------------------===//

def Weft_MatmulOp : Weft_ComputeOp<"matmul"> {
  let summary = "[..., M, K] x [..., K, N] -> [..., M, N]";
  let description = [{
    Batched matrix product. `transpose_a`/`transpose_b` swap the last two
    dimensions of that operand first. A 2-D right-hand side broadcasts over
    the left-hand side's batch dimensions; otherwise the batch dimensions
    must be equal.
  }];
  let arguments = (ins Weft_FloatTensor:$lhs, Weft_FloatTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_a,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_b);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_ReduceOp : Weft_ComputeOp<"reduce"> {
  let summary = "sum, max or mean over `dims`";
  let arguments = (ins Weft_Tensor:$operand, StrAttr:$kind,
                       DenseI64ArrayAttr:$dims,
                       DefaultValuedAttr<BoolAttr, "false">:$keep_dims);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $kind $operand `,` `dims` `=` $dims attr-dict `:` type($operand) `->` type($result)
  }];
}

def Weft_SoftmaxOp : Weft_ComputeOp<"softmax"> {
  let summary = "softmax over `dim` (default -1: the last)";
  let arguments = (ins Weft_FloatTensor:$operand,
                       DefaultValuedAttr<I64Attr, "-1">:$dim);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $operand attr-dict `:` custom<ElementwiseTypes>(type($operand), type($result))
  }];
}

def Weft_LayerNormOp : Weft_ComputeOp<"layer_norm"> {
  let summary = "(x - mean) / sqrt(var + eps) * gamma + beta over the last dim";
  let arguments = (ins Weft_FloatTensor:$x, Weft_FloatTensor:$gamma,
                       Weft_FloatTensor:$beta,
                       DefaultValuedAttr<F32Attr, "1e-5">:$eps);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $gamma `,` $beta attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_RmsNormOp : Weft_ComputeOp<"rms_norm"> {
  let summary = "x / sqrt(mean(x^2) + eps) * gamma over the last dim";
  let arguments = (ins Weft_FloatTensor:$x, Weft_FloatTensor:$gamma,
                       DefaultValuedAttr<F32Attr, "1e-6">:$eps);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $gamma attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_EmbeddingOp : Weft_ComputeOp<"embedding"> {
  let summary = "table [V, D] gathered at ids [...] -> [..., D]";
  let description = [{
    With `vocab_axis` (set by weft-partition-tensor), the table is this
    device's contiguous shard of the vocabulary along that axis of @mesh:
    ids [c*V, (c+1)*V) for the device at coordinate c. Ids outside the shard
    give zero rows; a `shard.all_reduce` over the axis completes the sum.
  }];
  let arguments = (ins Weft_FloatTensor:$table, Weft_IntTensor:$ids,
                       OptionalAttr<I64Attr>:$vocab_axis);
  let results = (outs Weft_FloatTensor:$result);
  let builders = [OpBuilder<(ins "Value":$table, "Value":$ids), [{
    build($_builder, $_state, table, ids, IntegerAttr());
  }]>];
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_AttentionOp : Weft_ComputeOp<"attention"> {
  let summary = "softmax(q k^T * scale [+ causal mask]) v over [B, H, S, Dh]";
  let description = [{
    `scale` defaults to 1/sqrt(Dh). With `causal`, query i sees keys 0..i.
    q may have a different sequence length than k and v.
  }];
  let arguments = (ins Weft_FloatTensor:$q, Weft_FloatTensor:$k,
                       Weft_FloatTensor:$v,
                       DefaultValuedAttr<BoolAttr, "false">:$causal,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_CrossEntropyOp : Weft_ComputeOp<"cross_entropy"> {
  let summary = "mean softmax cross-entropy of logits [..., V] at labels [...]";
  let arguments = (ins Weft_FloatTensor:$logits, Weft_IntTensor:$labels);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
}


//===----------------------------------------------------------------------===//
// Gradient ops: what weft-autodiff emits for rules the forward ops cannot
// express. Elementwise ones fuse like any elementwise op.
//===----------------------------------------------------------------------===//

class Weft_GradBinaryOp<string mnemonic, string sum, dag extra = (ins)>
    : Weft_ComputeOp<mnemonic> {
  let summary = sum;
  let arguments = !con((ins Weft_FloatTensor:$lhs, Weft_FloatTensor:$rhs), extra);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:`
      custom<ElementwiseTypes>(type($lhs), type($rhs), type($result))
  }];
}

def Weft_ReluGradOp : Weft_GradBinaryOp<"relu_grad", "dy where x > 0, else 0 (lhs = x, rhs = dy)">;
def Weft_SiluGradOp : Weft_GradBinaryOp<"silu_grad", "dy * d/dx silu(x) (lhs = x, rhs = dy)">;
def Weft_SigmoidGradOp : Weft_GradBinaryOp<"sigmoid_grad", "dy * y * (1 - y) (lhs = y, rhs = dy)">;
def Weft_TanhGradOp : Weft_GradBinaryOp<"tanh_grad", "dy * (1 - y^2) (lhs = y, rhs = dy)">;
def Weft_GeluGradOp : Weft_GradBinaryOp<"gelu_grad", "dy * d/dx gelu(x) (lhs = x, rhs = dy)",
    (ins DefaultValuedAttr<StrAttr, "\"none\"">:$approximate)>;

class Weft_SelectGradOp<string mnemonic, string sum> : Weft_ComputeOp<mnemonic> {
  let summary = sum;
  let arguments = (ins Weft_FloatTensor:$a, Weft_FloatTensor:$b, Weft_FloatTensor:$dy);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$a `,` $b `,` $dy attr-dict `:` type($a) `,` type($b) `,` type($dy) `->` type($result)";
}
def Weft_MaxGradOp : Weft_SelectGradOp<"max_grad", "dy where a >= b, else 0">;
def Weft_MinGradOp : Weft_SelectGradOp<"min_grad", "dy where a <= b, else 0">;

def Weft_ScaleOp : Weft_ComputeOp<"scale"> {
  let summary = "x * factor, a compile-time scalar";
  let arguments = (ins Weft_FloatTensor:$operand, F32Attr:$factor);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $operand `,` $factor attr-dict `:` custom<ElementwiseTypes>(type($operand), type($result))
  }];
}

def Weft_PadOp : Weft_ComputeOp<"pad"> {
  let summary = "zero padding: `low` before and `high` after each dimension (the gradient of slice)";
  let arguments = (ins Weft_Tensor:$operand, DenseI64ArrayAttr:$low, DenseI64ArrayAttr:$high);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `low` `=` $low `,` `high` `=` $high attr-dict `:` type($operand) `->` type($result)
  }];
}

def Weft_SoftmaxGradOp : Weft_ComputeOp<"softmax_grad"> {
  let summary = "y * (dy - sum(dy * y, dim)): the gradient of y = softmax(x)";
  let arguments = (ins Weft_FloatTensor:$y, Weft_FloatTensor:$dy,
                       DefaultValuedAttr<I64Attr, "-1">:$dim);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $y `,` $dy attr-dict `:` custom<ElementwiseTypes>(type($y), type($dy), type($result))
  }];
}

def Weft_LayerNormGradOp : Weft_ComputeOp<"layer_norm_grad"> {
  let summary = "(dx, dgamma, dbeta) of layer_norm(x, gamma, beta)";
  let arguments = (ins Weft_FloatTensor:$x, Weft_FloatTensor:$gamma, Weft_FloatTensor:$dy,
                       DefaultValuedAttr<F32Attr, "1e-5">:$eps);
  let results = (outs Weft_FloatTensor:$dx, Weft_FloatTensor:$dgamma, Weft_FloatTensor:$dbeta);
  let assemblyFormat = [{
    $x `,` $gamma `,` $dy attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_RmsNormGradOp : Weft_ComputeOp<"rms_norm_grad"> {
  let summary = "(dx, dgamma) of rms_norm(x, gamma)";
  let arguments = (ins Weft_FloatTensor:$x, Weft_FloatTensor:$gamma, Weft_FloatTensor:$dy,
                       DefaultValuedAttr<F32Attr, "1e-6">:$eps);
  let results = (outs Weft_FloatTensor:$dx, Weft_FloatTensor:$dgamma);
  let assemblyFormat = [{
    $x `,` $gamma `,` $dy attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_EmbeddingGradOp : Weft_ComputeOp<"embedding_grad"> {
  let summary = "the table gradient: dy rows scatter-added at ids into [vocab, D]";
  let description = [{
    With `vocab_axis`, the result is this device's shard of the table's
    gradient (`vocab` rows from coordinate * vocab): ids outside it add nothing.
  }];
  let arguments = (ins Weft_IntTensor:$ids, Weft_FloatTensor:$dy, I64Attr:$vocab,
                       OptionalAttr<I64Attr>:$vocab_axis);
  let results = (outs Weft_FloatTensor:$result);
  let builders = [OpBuilder<(ins "Value":$ids, "Value":$dy, "int64_t":$vocab), [{
    build($_builder, $_state, ids, dy, $_builder.getI64IntegerAttr(vocab), IntegerAttr());
  }]>];
  let assemblyFormat = [{
    $ids `,` $dy `,` `vocab` `=` $vocab attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_AttentionGradOp : Weft_ComputeOp<"attention_grad"> {
  let summary = "(dq, dk, dv) of attention(q, k, v); the probabilities are recomputed";
  let arguments = (ins Weft_FloatTensor:$q, Weft_FloatTensor:$k, Weft_FloatTensor:$v,
                       Weft_FloatTensor:$dy,
                       DefaultValuedAttr<BoolAttr, "false">:$causal,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs Weft_FloatTensor:$dq, Weft_FloatTensor:$dk, Weft_FloatTensor:$dv);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $dy attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_CrossEntropyGradOp : Weft_ComputeOp<"cross_entropy_grad"> {
  let summary = "(softmax(logits) - onehot(labels)) * dloss / rows";
  let arguments = (ins Weft_FloatTensor:$logits, Weft_IntTensor:$labels,
                       0DTensorOf<[F32]>:$dloss);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels `,` $dloss attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_VocabShardStatsOp : Weft_ComputeOp<"vocab_shard_stats"> {
  let summary = "cross-entropy statistics of a vocabulary shard of the logits";
  let description = [{
    Megatron's vocabulary-parallel cross-entropy, the local part. `logits`
    [..., V] are this device's shard of the vocabulary along `vocab_axis`
    (classes [c*V, (c+1)*V) at coordinate c), `max` [...] the maximum over
    the whole vocabulary (an all-reduce of the shards' maxima). The result
    [..., 2] holds, per row, sum_j exp(logits_j - max) over the shard and
    logits[label - c*V] - max if the label is in the shard, else 0. Summed
    over the shards (a `shard.all_reduce`), log(s0) - s1 is the row's
    cross-entropy. No gradient flows to `max` (the loss does not depend on
    it); weft-partition-tensor emits it from `weft.cross_entropy`.
  }];
  let arguments = (ins Weft_FloatTensor:$logits, Weft_IntTensor:$labels,
                       Weft_FloatTensor:$max, I64Attr:$vocab_axis);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels `,` $max attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_VocabShardStatsGradOp : Weft_ComputeOp<"vocab_shard_stats_grad"> {
  let summary = "dlogits = dstats[..., 0] * exp(logits - max) + dstats[..., 1] * onehot";
  let description = [{
    The gradient of `weft.vocab_shard_stats` with respect to its logits;
    the one-hot is this shard's part of onehot(labels).
  }];
  let arguments = (ins Weft_FloatTensor:$logits, Weft_IntTensor:$labels,
                       Weft_FloatTensor:$max, Weft_FloatTensor:$dstats,
                       I64Attr:$vocab_axis);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels `,` $max `,` $dstats attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Optimizer updates: fused, one op per parameter (weft-optimizer).
//===----------------------------------------------------------------------===//

def Weft_SgdUpdateOp : Weft_ComputeOp<"sgd_update"> {
  let summary = "SGD with momentum and weight decay, as torch.optim.SGD";
  let description = [{
    `step` is the 1-based number of this update. g = grad + weight_decay *
    param; buf = (step == 1 ? g : momentum * buf + g); param -= lr * buf.
    Results: the new parameter and the new momentum buffer.
  }];
  let arguments = (ins Weft_FloatTensor:$param, Weft_FloatTensor:$grad,
                       Weft_FloatTensor:$buf, 0DTensorOf<[F32]>:$step,
                       F32Attr:$lr, F32Attr:$momentum, F32Attr:$weight_decay);
  let results = (outs Weft_FloatTensor:$new_param, Weft_FloatTensor:$new_buf);
  let assemblyFormat = [{
    $param `,` $grad `,` $buf `,` $step attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_AdamwUpdateOp : Weft_ComputeOp<"adamw_update"> {
  let summary = "AdamW with bias correction and decoupled weight decay, as torch.optim.AdamW";
  let description = [{
    `step` is the 1-based number of this update (t). m = b1 m + (1-b1) g;
    v = b2 v + (1-b2) g^2; param *= 1 - lr * weight_decay; param -= lr *
    (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
  }];
  let arguments = (ins Weft_FloatTensor:$param, Weft_FloatTensor:$grad,
                       Weft_FloatTensor:$m, Weft_FloatTensor:$v, 0DTensorOf<[F32]>:$step,
                       F32Attr:$lr, F32Attr:$beta1, F32Attr:$beta2, F32Attr:$eps,
                       F32Attr:$weight_decay);
  let results = (outs Weft_FloatTensor:$new_param, Weft_FloatTensor:$new_m,
                      Weft_FloatTensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $step attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Tensor parallelism (weft-partition-tensor)
//===----------------------------------------------------------------------===//

def Weft_TpCopyOp : Weft_ComputeOp<"tp_copy"> {
  let summary = "identity forward; all-reduce of the gradient over tp (Megatron's f)";
  let description = [{
    Marks a replicated value entering a tensor-parallel region (the input
    of a column-parallel matmul). Each device's gradient of it is a partial
    sum, so weft-autodiff sums them over the tp axis. It moves no data.
  }];
  // The axis of @mesh the tp devices lie on (1 on a dp x tp mesh).
  let arguments = (ins Weft_Tensor:$operand, DefaultValuedAttr<I64Attr, "0">:$grid_axis);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand attr-dict `:` custom<ElementwiseTypes>(type($operand), type($result))
  }];
}

def Weft_TpGatherOp : Weft_BaseOp<"tp_gather"> {
  let summary = "all-gather along `dim` over tp; its gradient is a reduce-scatter (sum)";
  let description = [{
    Leaves a tensor-parallel region whose result each device holds a slice
    of (along `dim`, e.g. an LSTM's hidden units) and whose consumers are
    column-parallel matmuls again: forward it gathers the slices, backward
    the cotangent on each device is a partial sum (a product by a split
    weight), so weft-autodiff reduce-scatters it (Megatron's gather from the
    sequence-parallel region). weft-lower-tp-gather turns it into
    `shard.all_gather` after autodiff.
  }];
  // The axis of @mesh the tp devices lie on (1 on a dp x tp mesh).
  let arguments = (ins Weft_Tensor:$operand, I64Attr:$dim,
                       DefaultValuedAttr<I64Attr, "0">:$grid_axis);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand attr-dict `:` type($operand) `->` type($result)
  }];
}

def Weft_ReshardOp : Weft_BaseOp<"reshard"> {
  let summary = "moves a value from one sharding on @mesh to another";
  let description = [{
    The operand is this device's block under sharding `from`, the result its
    block under `to`. A sharding names each mesh axis in order: `R`
    (replicated), `P` (partial: the devices along it hold addends) or `S<k>`
    (split along tensor dimension k), e.g. `from = "P,S1"`. weft-reshard
    replaces it with the cheapest sequence of shard collectives.
  }];
  let arguments = (ins Weft_Tensor:$operand, StrAttr:$from, StrAttr:$to);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = [{
    $operand `from` $from `to` $to attr-dict `:` type($operand) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Lowered ops: produced by passes/lowering, never written by users.
//===----------------------------------------------------------------------===//

def Weft_FusedOp : Weft_Op<"fused", [IsolatedFromAbove, Pure,
    DeclareOpInterfaceMethods<Weft_CostOpInterface>]> {
  let summary = "a fused elementwise region (weft-fuse-elementwise)";
  let description = [{
    Elementwise ops and broadcasts over one iteration shape, run as one
    kernel: each element is loaded once, every intermediate stays in
    registers, and only the yielded values are written. The block arguments
    are the inputs; a `weft.broadcast_in_dim` inside may only read one.
  }];
  let arguments = (ins Variadic<Weft_Tensor>:$inputs);
  let results = (outs Variadic<Weft_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
}

def Weft_YieldOp : Weft_Op<"yield", [Pure, Terminator, HasParent<"FusedOp">]> {
  let summary = "the results of a weft.fused region";
  let arguments = (ins Variadic<Weft_Tensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

#endif // WEFT_OPS_TD
