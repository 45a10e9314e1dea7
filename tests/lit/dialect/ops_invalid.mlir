// Each verifier rule, with the message a user sees.
// RUN: weft-opt %s --split-input-file --verify-diagnostics

func.func @binary_shape(%a: tensor<4x8xf32>, %b: tensor<4x9xf32>) {
  // expected-error @+1 {{operand #1 (rhs) has type 'tensor<4x9xf32>' but operand #0 (lhs) has type 'tensor<4x8xf32>'; elementwise operands must match exactly}}
  %0 = weft.add %a, %b : tensor<4x8xf32>, tensor<4x9xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @binary_parse_mismatch(%a: tensor<4x8xf32>, %b: tensor<4x9xf32>) {
  // expected-note @-1 {{prior use here}}
  // expected-error @+1 {{use of value '%b' expects different type than prior uses: 'tensor<4x8xf32>' vs 'tensor<4x9xf32>'}}
  %0 = weft.mul %a, %b : tensor<4x8xf32>
  return
}

// -----

func.func @unary_int(%a: tensor<4xi32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float or bfloat16 type or 16-bit float values}}
  %0 = weft.exp %a : tensor<4xi32>
  return
}

// -----

func.func @unary_result(%a: tensor<4xf32>) {
  // expected-error @+1 {{result type 'tensor<5xf32>' does not match the inferred type 'tensor<4xf32>'}}
  %0 = weft.tanh %a : tensor<4xf32> -> tensor<5xf32>
  return
}

// -----

func.func @dynamic(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor}}
  %0 = weft.relu %a : tensor<?x4xf32>
  return
}

// -----

func.func @gelu_mode(%a: tensor<4xf32>) {
  // expected-error @+1 {{attribute 'approximate' must be "none" or "tanh", got "fast"}}
  %0 = weft.gelu %a {approximate = "fast"} : tensor<4xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<4xf32>) {
  // expected-error @+1 {{result shape [5] must equal the operand shape [4]; cast changes only the element type}}
  %0 = weft.cast %a : tensor<4xf32> to tensor<5xbf16>
  return
}

// -----

func.func @broadcast_rank(%a: tensor<8xf32>) {
  // expected-error @+1 {{attribute 'dims' has 2 entries but the operand has rank 1}}
  %0 = weft.broadcast_in_dim %a, dims = [0, 1] : tensor<8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @broadcast_size(%a: tensor<3xf32>) {
  // expected-error @+1 {{operand dimension 0 (size 3) cannot broadcast to result dimension 1 (size 8)}}
  %0 = weft.broadcast_in_dim %a, dims = [1] : tensor<3xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @broadcast_order(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'dims' = [1, 0] must be strictly increasing}}
  %0 = weft.broadcast_in_dim %a, dims = [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @broadcast_range(%a: tensor<4xf32>) {
  // expected-error @+1 {{attribute 'dims' = [2]: entry 0 (2) is out of range for the result rank 2}}
  %0 = weft.broadcast_in_dim %a, dims = [2] : tensor<4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @reshape_count(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result 'tensor<3x8xf32>' has 24 elements but operand 'tensor<4x8xf32>' has 32}}
  %0 = weft.reshape %a : tensor<4x8xf32> -> tensor<3x8xf32>
  return
}

// -----

func.func @transpose_perm(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'perm' = [0, 0] is not a permutation of 0..1 (the operand has rank 2)}}
  %0 = weft.transpose %a, perm = [0, 0] : tensor<4x8xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @slice_bounds(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{dimension 1: slice [3, 9) is not inside [0, 8)}}
  %0 = weft.slice %a, start = [0, 3], limit = [4, 9] : tensor<4x8xf32> -> tensor<4x6xf32>
  return
}

// -----

func.func @slice_rank(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attributes 'start' and 'limit' need one entry per operand dimension (rank 2), got 1 and 1}}
  %0 = weft.slice %a, start = [0], limit = [4] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<4x8xf32>, %b: tensor<5x3xf32>) {
  // expected-error @+1 {{operand #1 has size 5 in dimension 0 but operand #0 has 4; only the concatenated dimension may differ}}
  %0 = weft.concat %a, %b dim = 1 : (tensor<4x8xf32>, tensor<5x3xf32>) -> tensor<4x11xf32>
  return
}

// -----

func.func @concat_dim_range(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'dim' = 2 is out of range for rank 2}}
  %0 = weft.concat %a, %a dim = 2 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<4x8xf32>, %b: tensor<9x16xf32>) {
  // expected-error @+1 {{contraction dimension mismatch: operand #0 (lhs) has K = 8 but operand #1 (rhs) has K = 9}}
  %0 = weft.matmul %a, %b : (tensor<4x8xf32>, tensor<9x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xf32>, %b: tensor<3x8x16xf32>) {
  // expected-error @+1 {{operand #1 (rhs) has batch dimensions [3] but operand #0 (lhs) has [2]}}
  %0 = weft.matmul %a, %b : (tensor<2x4x8xf32>, tensor<3x8x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<8xf32>, %b: tensor<8x16xf32>) {
  // expected-error @+1 {{operand #0 (lhs) must have rank >= 2, got 'tensor<8xf32>'}}
  %0 = weft.matmul %a, %b : (tensor<8xf32>, tensor<8x16xf32>) -> tensor<16xf32>
  return
}

// -----

func.func @matmul_types(%a: tensor<4x8xf32>, %b: tensor<8x16xbf16>) {
  // expected-error @+1 {{operand #1 (rhs) has element type 'bf16' but operand #0 (lhs) has 'f32'}}
  %0 = weft.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xbf16>) -> tensor<4x16xf32>
  return
}

// -----

func.func @reduce_kind(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'kind' must be "sum", "max" or "mean", got "prod"}}
  %0 = weft.reduce "prod" %a, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @reduce_dims(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'dims' = [1, 1] names dimension 1 twice}}
  %0 = weft.reduce "sum" %a, dims = [1, 1] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @reduce_range(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'dims' = [2] names dimension 2, out of range for rank 2}}
  %0 = weft.reduce "max" %a, dims = [2] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @reduce_mean_int(%a: tensor<4x8xi32>) {
  // expected-error @+1 {{kind "mean" needs a floating-point operand, got 'tensor<4x8xi32>'}}
  %0 = weft.reduce "mean" %a, dims = [1] : tensor<4x8xi32> -> tensor<4xi32>
  return
}

// -----

func.func @softmax_dim(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'dim' = 3 is out of range for rank 2}}
  %0 = weft.softmax %a {dim = 3} : tensor<4x8xf32>
  return
}

// -----

func.func @layer_norm_gamma(%x: tensor<2x8xf32>, %g: tensor<7xf32>) {
  // expected-error @+1 {{operand #1 (gamma) has type 'tensor<7xf32>' but must be 'tensor<8xf32>', the last dimension of x}}
  %0 = weft.layer_norm %x, %g, %g : (tensor<2x8xf32>, tensor<7xf32>, tensor<7xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_beta(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<2x8xf32>) {
  // expected-error @+1 {{operand #2 (beta) has type 'tensor<2x8xf32>' but must be 'tensor<8xf32>'}}
  %0 = weft.layer_norm %x, %g, %b : (tensor<2x8xf32>, tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<2x8xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive, got 0}}
  %0 = weft.layer_norm %x, %g, %g {eps = 0.0 : f32} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_gamma(%x: tensor<2x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{operand #1 (gamma) has type 'tensor<4xf32>' but must be 'tensor<8xf32>'}}
  %0 = weft.rms_norm %x, %g : (tensor<2x8xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @embedding_table(%t: tensor<100xf32>, %ids: tensor<2xi32>) {
  // expected-error @+1 {{operand #0 (table) must be 2-D [V, D], got 'tensor<100xf32>'}}
  %0 = weft.embedding %t, %ids : (tensor<100xf32>, tensor<2xi32>) -> tensor<2xf32>
  return
}

// -----

func.func @embedding_ids(%t: tensor<100x4xf32>, %ids: tensor<2xf32>) {
  // expected-error @+1 {{operand #1 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = weft.embedding %t, %ids : (tensor<100x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<2x8x16xf32>) {
  // expected-error @+1 {{operand #0 (q) must be 4-D [B, H, S, Dh], got 'tensor<2x8x16xf32>'}}
  %0 = weft.attention %q, %q, %q : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x8x16xf32>) {
  // expected-error @+1 {{operand #1 (k) has [B, H] = [2, 2] but q has [2, 4]}}
  %0 = weft.attention %q, %k, %q : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return
}

// -----

func.func @attention_head_size(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x32xf32>) {
  // expected-error @+1 {{operand #1 (k) has head size 32 but q has 16}}
  %0 = weft.attention %q, %k, %k : (tensor<2x4x8x16xf32>, tensor<2x4x8x32xf32>, tensor<2x4x8x32xf32>) -> tensor<2x4x8x32xf32>
  return
}

// -----

func.func @attention_v_len(%q: tensor<2x4x8x16xf32>, %v: tensor<2x4x9x16xf32>) {
  // expected-error @+1 {{operand #2 (v) has sequence length 9 but k has 8}}
  %0 = weft.attention %q, %q, %v : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x9x16xf32>) -> tensor<2x4x8x16xf32>
  return
}

// -----

func.func @attention_causal(%q: tensor<2x4x3x16xf32>, %k: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{causal attention needs q and k of one sequence length, got 3 and 8}}
  %0 = weft.attention %q, %k, %k {causal = true} : (tensor<2x4x3x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x3x16xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{attribute 'scale' must be positive, got -1}}
  %0 = weft.attention %q, %q, %q {scale = -1.0 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return
}

// -----

func.func @cross_entropy_labels(%l: tensor<2x5x10xf32>, %y: tensor<2x4xi32>) {
  // expected-error @+1 {{operand #1 (labels) has shape [2, 4] but must be [2, 5], the logits' shape without the class dimension}}
  %0 = weft.cross_entropy %l, %y : (tensor<2x5x10xf32>, tensor<2x4xi32>) -> tensor<f32>
  return
}

// -----

func.func @missing_attr(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{'weft.transpose' op requires attribute 'perm'}}
  %0 = "weft.transpose"(%a) : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @attr_kind(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{'weft.matmul' op attribute 'transpose_a' failed to satisfy constraint: bool attribute}}
  %0 = "weft.matmul"(%a, %a) {transpose_a = 1 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return
}

// -----

func.func @unknown_op(%a: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'weft.swish' is unknown}}
  %0 = weft.swish %a : tensor<4xf32>
  return
}
