//===- Passes.td - Weft's passes -----------------------------------------===//
#ifndef WEFT_PASSES_TD
#define WEFT_PASSES_TD

include "mlir/Pass/PassBase.td"


def VerifyModelPass : Pass<"weft-verify-model", "::mlir::ModuleOp"> {
  let summary = "Checks the model contract: @forward, its inputs, parameters and outputs";
  let description = [{
    Every argument of `@forward` is one `weft.input` or one `weft.param`, names
    are unique, every result is a named `weft.output`, at most one is the
    `weft.loss`, and inputs have a batch dimension. The IR is not changed.
  }];
}

def AutodiffPass : Pass<"weft-autodiff", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode differentiation of @forward into @train_step";
  let description = [{
    Clones `@forward` into `@train_step` and appends the backward pass: from
    the result marked `weft.loss`, every op's gradient rule, in reverse, up
    to every `weft.param`. The gradients become extra results marked
    `weft.grad = "<param>"` (a parameter the loss does not depend on gets
    zeros). By default activations are saved: the backward ops read the
    forward values they need. With `recompute`, each block (ops tagged
    `weft.block`, e.g. a transformer layer) is run again just before its
    backward, from its saved inputs, so only block boundaries stay alive
    through the step. An op without a gradient rule is an error naming it.
  }];
  let options = [
    Option<"recompute", "recompute", "bool", "false",
           "Recompute each weft.block in the backward pass instead of saving its activations">,
  ];
  let dependentDialects = ["::mlir::weft::WeftDialect"];
}

def OptimizerPass : Pass<"weft-optimizer", "::mlir::ModuleOp"> {
  let summary = "Turns the gradients of @train_step into fused optimizer updates";
  let description = [{
    Adds the optimizer's state as arguments (`weft.state`, zero-initialised:
    `optimizer.step`, and per parameter `optimizer.m.<p>`/`optimizer.v.<p>`
    for AdamW or `optimizer.momentum.<p>` for SGD), optionally clips the
    gradients by their global norm, and replaces each `weft.grad` result by
    one `weft.adamw_update` or `weft.sgd_update`. The new parameters and
    states are returned marked `weft.update = "<name>"`; the runtime writes
    them in place.
  }];
  let options = [
    Option<"kind", "kind", "std::string", "\"adamw\"", "sgd or adamw">,
    Option<"lr", "lr", "float", "1e-3", "Learning rate">,
    Option<"weightDecay", "weight-decay", "float", "-1", "Weight decay (-1: 0.01 for adamw, 0 for sgd)">,
    Option<"momentum", "momentum", "float", "0.9", "SGD momentum">,
    Option<"beta1", "beta1", "float", "0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "float", "0.999", "AdamW beta2">,
    Option<"eps", "eps", "float", "1e-8", "AdamW epsilon">,
    Option<"clipNorm", "clip-norm", "float", "0", "Clip gradients to this global L2 norm (0: off)">,
    Option<"zero", "zero", "int64_t", "0",
           "ZeRO stage: 1 shards the optimizer state over the data-parallel axis "
           "(reduce-scatter the gradients, update a 1/dp slice, all-gather the parameters)">,
  ];
  let dependentDialects = ["::mlir::weft::WeftDialect"];
}

def PartitionBatchPass : Pass<"weft-partition-batch", "::mlir::ModuleOp"> {
  let summary = "Data parallelism: splits @forward's batch over a dp mesh axis";
  let description = [{
    Creates `shard.grid @mesh` with one axis of `dp` devices, gives every
    input its local batch (dimension 0 divided by dp) and propagates the
    split through @forward: every value that carries the batch gets its local
    shape, parameters stay replicated. A value that would need the batch
    gathered (a reduction over it, a transpose or reshape that moves it, a
    non-splat constant with it) is reported with its location.
    Our own pass rather than upstream's sharding-propagation + shard-partition:
    weft ops do not implement ShardingInterface yet, and for a pure batch
    split the rewrite is a shape change that the ops' own inference checks.
  }];
  let options = [
    Option<"dp", "dp", "int64_t", "1", "Devices on the data-parallel axis">,
    Option<"microbatches", "microbatches", "int64_t", "1",
           "Pipelines: also cut each device's share into this many microbatches (not a mesh axis)">,
  ];
  let dependentDialects = ["::mlir::weft::WeftDialect", "::mlir::shard::ShardDialect"];
}

def PartitionTensorPass : Pass<"weft-partition-tensor", "::mlir::ModuleOp"> {
  let summary = "Tensor parallelism, Megatron style: MLP, attention, vocabulary";
  let description = [{
    Finds the Megatron MLP pattern in @forward: a matmul by a parameter
    [K, N] (with an optional bias and an elementwise activation) feeding a
    matmul by a parameter [N, K2]. The first is split by column and the
    second by row over a `tp` axis: each device holds N/tp of the hidden
    width, the input enters through `weft.tp_copy` (its gradient is summed
    over tp), and one `shard.all_reduce` sums the row-parallel products.
    Attention blocks are split by heads (q, k, v by column, the output
    projection by row). The embedding table and the LM head are split over
    the vocabulary, and the cross-entropy is computed on the vocabulary
    shards with its max and sums all-reduced. A model with none of these is
    an error; other ops stay replicated.
  }];
  let options = [
    Option<"tp", "tp", "int64_t", "1", "Devices on the tensor-parallel axis">,
  ];
  let dependentDialects = ["::mlir::weft::WeftDialect", "::mlir::shard::ShardDialect"];
}

def PartitionAnnotatedPass : Pass<"weft-partition-annotated", "::mlir::ModuleOp"> {
  let summary = "GSPMD-style partition of the whole step from user sharding annotations";
  let description = [{
    For models whose @forward carries `weft.sharding` annotations (on
    arguments or op results: "tp:1", "dp:0", "dp:0,tp:2", "replicated"),
    runs after weft-autodiff and weft-optimizer on @train_step (or on
    @forward for inference): the annotations (and the default data-parallel
    plan, inputs split on the batch over dp) become `shard.shard` ops on a
    dp x tp `shard.grid @mesh`, upstream `sharding-propagation` spreads them
    through forward, backward and optimizer ops (every weft op implements
    ShardingInterface), and upstream `shard-partition` gives local shapes
    with the collectives inserted: all-reduces of partial sums (weight
    gradients over dp, row-parallel products over tp), and all-gathers,
    all-slices and all-to-alls where two ops disagree. Partitioning the
    differentiated step, not @forward, is what makes this sound for
    training: every partial gradient is an explicit reduction there.
    The arguments' shardings are recorded for the runtime (inputs split on
    dim 0 over dp; parameters and state split on one dim over tp); anything
    else the runtime cannot lay out is an error naming the argument.
  }];
  let options = [
    Option<"dp", "dp", "int64_t", "1", "Devices on the data-parallel axis">,
    Option<"tp", "tp", "int64_t", "1", "Devices on the tensor-parallel axis">,
  ];
  let dependentDialects = ["::mlir::weft::WeftDialect", "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def ReshardPass : Pass<"weft-reshard", "::mlir::ModuleOp"> {
  let summary = "Lowers weft.reshard to the cheapest sequence of shard collectives";
  let description = [{
    For each `weft.reshard` on `shard.grid @mesh`: from its operand's local
    shape and its `from` sharding, the global shape; then the plan of
    passes/partition/Reshard.h (Dijkstra over the shardings, cost = bytes
    sent per device) as `shard.all_reduce`, `all_gather`, `all_slice`,
    `reduce_scatter` and `all_to_all` on the grid axes. A sharding that does
    not divide a dimension, a target no collective reaches (a partial sum
    that the source lacks) or a result type that is not the target's block
    is an error on the op.
  }];
  let dependentDialects = ["::mlir::weft::WeftDialect", "::mlir::shard::ShardDialect"];
}

def LowerTpGatherPass : Pass<"weft-lower-tp-gather", "::mlir::func::FuncOp"> {
  let summary = "Lowers weft.tp_gather to shard.all_gather";
  let description = [{
    `weft.tp_gather` carries its gradient rule (a reduce-scatter) through
    weft-autodiff; after it, the op is a plain `shard.all_gather` on @mesh
    along its `dim` over its `grid_axis`.
  }];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def SyncGradientsPass : Pass<"weft-sync-gradients", "::mlir::ModuleOp"> {
  let summary = "Averages gradients and the loss over the data-parallel axis";
  let description = [{
    After weft-autodiff on a batch-partitioned model: every `weft.grad`
    result and the `weft.loss` output of the step function get a
    `shard.all_reduce ... reduction = average` over @mesh, so each device
    holds the gradient of the global mean loss before the optimizer runs.
  }];
  let options = [
    Option<"zero", "zero", "int64_t", "0",
           "With ZeRO-1 the gradients are left to weft-optimizer, which reduce-scatters them">,
  ];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def PipelinePass : Pass<"weft-pipeline", "::mlir::ModuleOp"> {
  let summary = "One pipeline rank's training step: the schedule unrolled, with send/recv";
  let description = [{
    For training with pp > 1, in place of weft-autodiff. @forward, already
    split over dp x microbatches and tp, is cut into pp x virtual-stages
    stages at weft.block boundaries (compiler/pipeline/StageCut.h). Each
    stage's backward is weft-autodiff's, of a surrogate loss: the stage's
    outputs dotted with their incoming gradients (the loss itself on the last
    stage), differentiated with respect to its parameters and its inputs, so
    the backward recomputes the stage's forward from the inputs it stashed
    (GPipe's re-materialisation). The rank's stages are outlined as private
    functions (@pp_stage<s>, @pp_stage<s>_backward). @train_step of rank
    `rank` is then the rank's list of the schedule (gpipe, 1f1b,
    interleaved; checked free of deadlock first), unrolled: microbatch slices
    of the inputs, calls of the stage forwards and backwards (inlined by
    weft-inline-stages), `shard.send`/`shard.recv` along the pp axis of
    @mesh, gradients accumulated over the microbatches and averaged, tied
    parameters' gradients exchanged between their stages, and the loss
    all-reduced over pp. Only the rank's parameters are arguments; the loss
    is the only output. @forward is erased.
  }];
  let options = [
    Option<"pp", "pp", "int64_t", "2", "Ranks along the pipeline axis">,
    Option<"rank", "rank", "int64_t", "0", "The pp rank whose step this builds">,
    Option<"microbatches", "microbatches", "int64_t", "1", "Microbatches per batch">,
    Option<"schedule", "schedule", "std::string", "\"1f1b\"", "gpipe, 1f1b or interleaved">,
    Option<"virtualStages", "virtual-stages", "int64_t", "1", "Model chunks per rank">,
    Option<"stages", "stages", "std::string", "\"\"", "Manual stages, e.g. 0-1,2-3 (weft.block ranges)">,
    Option<"recompute", "recompute", "bool", "false", "Also recompute blocks inside each stage's backward">,
  ];
  let dependentDialects = ["::mlir::weft::WeftDialect", "::mlir::shard::ShardDialect"];
}

def InlineStagesPass : Pass<"weft-inline-stages", "::mlir::ModuleOp"> {
  let summary = "Inlines the pipeline's outlined stages into @train_step";
  let description = [{
    After weft-pipeline: every call to a private function (the outlined
    stages @pp_stage<s> and @pp_stage<s>_backward) becomes a copy of its body,
    and the functions are erased, so the lowering sees one straight-line step.
  }];
}

def FuseElementwisePass : Pass<"weft-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Groups elementwise ops and broadcasts into weft.fused regions";
  let description = [{
    Elementwise ops over one shape, and the broadcasts that feed them, become
    one `weft.fused` op: one kernel that reads each input once and writes
    only the values used outside. Every elementwise op ends up in some
    region (a lone op in a region of one), so the backends have a single
    elementwise path. Float and integer ops are never mixed in one region.
  }];
  let dependentDialects = ["::mlir::weft::WeftDialect"];
}

def FoldGemmEpiloguePass : Pass<"weft-fold-gemm-epilogue", "::mlir::func::FuncOp"> {
  let summary = "Marks matmuls whose fused user a cuBLASLt epilogue computes";
  let description = [{
    For weftc --target=cuda. A `weft.fused` op that is a matmul's only user
    and computes bias, bias + residual, bias + tanh-GELU (keeping the
    pre-activation or not) or the tanh-GELU gradient on the product (see
    runtime/artifact/gemm_epilogue.h) is what cuBLASLt's epilogues do inside
    the GEMM; so is the sum over the rows of that gradient (the bias
    gradient), whose `weft.reduce` moves up to right after the fused op and
    is marked `weft.gemm_epilogue = "bgrad"`. The matmul moves down to just before that op (it is pure, so
    its operands still dominate it) and gets `weft.gemm_epilogue = "<kind>"`;
    weft-plan-memory then gives its product no bytes and keeps its operands
    alive through the fused op, and the artifact writer emits one Matmul
    instruction for the pair.
  }];
  let dependentDialects = ["::mlir::weft::WeftDialect"];
}

def PlanMemoryPass : Pass<"weft-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Assigns every intermediate tensor an offset in one arena";
  let description = [{
    Computes each intermediate's lifetime in program order (a reshape is a
    view and extends its source's lifetime), then places the buffers
    greedily by decreasing size at the lowest offset free for their whole
    lifetime. Writes `weft.offsets` (one per result; -1 for a result of the
    function, which the runtime writes straight into the tensor it returns)
    on each op and `weft.arena_bytes` on the function. Inputs, parameters and constants
    live outside the arena.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of every buffer">,
  ];
}

#endif // WEFT_PASSES_TD
