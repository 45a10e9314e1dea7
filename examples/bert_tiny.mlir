module {
  func.func @forward(
      %arg0: tensor<8x32xi32> {weft.input = "tokens"},
      %arg1: tensor<8x32xi32> {weft.input = "labels"},
      %arg2: tensor<128x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "embeddings.word"},
      %arg3: tensor<32x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "embeddings.position"},
      %arg4: tensor<64xf32> {weft.init = {dist = "ones"}, weft.param = "embeddings.ln.weight"},
      %arg5: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "embeddings.ln.bias"},
      %arg6: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.0.attn.q_proj.weight"},
      %arg7: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.attn.q_proj.bias"},
      %arg8: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.0.attn.k_proj.weight"},
      %arg9: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.attn.k_proj.bias"},
      %arg10: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.0.attn.v_proj.weight"},
      %arg11: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.attn.v_proj.bias"},
      %arg12: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.0.attn.o_proj.weight"},
      %arg13: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.attn.o_proj.bias"},
      %arg14: tensor<64xf32> {weft.init = {dist = "ones"}, weft.param = "layer.0.ln_1.weight"},
      %arg15: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.ln_1.bias"},
      %arg16: tensor<64x256xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.0.mlp.fc.weight"},
      %arg17: tensor<256xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.mlp.fc.bias"},
      %arg18: tensor<256x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.0.mlp.proj.weight"},
      %arg19: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.mlp.proj.bias"},
      %arg20: tensor<64xf32> {weft.init = {dist = "ones"}, weft.param = "layer.0.ln_2.weight"},
      %arg21: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.0.ln_2.bias"},
      %arg22: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.1.attn.q_proj.weight"},
      %arg23: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.attn.q_proj.bias"},
      %arg24: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.1.attn.k_proj.weight"},
      %arg25: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.attn.k_proj.bias"},
      %arg26: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.1.attn.v_proj.weight"},
      %arg27: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.attn.v_proj.bias"},
      %arg28: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.1.attn.o_proj.weight"},
      %arg29: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.attn.o_proj.bias"},
      %arg30: tensor<64xf32> {weft.init = {dist = "ones"}, weft.param = "layer.1.ln_1.weight"},
      %arg31: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.ln_1.bias"},
      %arg32: tensor<64x256xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.1.mlp.fc.weight"},
      %arg33: tensor<256xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.mlp.fc.bias"},
      %arg34: tensor<256x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "layer.1.mlp.proj.weight"},
      %arg35: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.mlp.proj.bias"},
      %arg36: tensor<64xf32> {weft.init = {dist = "ones"}, weft.param = "layer.1.ln_2.weight"},
      %arg37: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "layer.1.ln_2.bias"},
      %arg38: tensor<64x64xf32> {weft.init = {dist = "normal", std = 2.000000e-02 : f32}, weft.param = "mlm.dense.weight"},
      %arg39: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "mlm.dense.bias"},
      %arg40: tensor<64xf32> {weft.init = {dist = "ones"}, weft.param = "mlm.ln.weight"},
      %arg41: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "mlm.ln.bias"},
      %arg42: tensor<128xf32> {weft.init = {dist = "zeros"}, weft.param = "mlm.decoder.bias"}
  ) -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<8x32x128xf32> {weft.output = "logits"}) {
    %0 = weft.embedding %arg2, %arg0 : (tensor<128x64xf32>, tensor<8x32xi32>) -> tensor<8x32x64xf32>
    %1 = weft.broadcast_in_dim %arg3, dims = [1, 2] : tensor<32x64xf32> -> tensor<8x32x64xf32>
    %2 = weft.add %0, %1 : tensor<8x32x64xf32>
    %3 = weft.layer_norm %2, %arg4, %arg5 : (tensor<8x32x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x32x64xf32>
    %4 = weft.matmul %3, %arg6 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %5 = weft.broadcast_in_dim %arg7, dims = [2] {weft.block = 0 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %6 = weft.add %4, %5 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %7 = weft.reshape %6 {weft.block = 0 : i64} : tensor<8x32x64xf32> -> tensor<8x32x8x8xf32>
    %8 = weft.transpose %7, perm = [0, 2, 1, 3] {weft.block = 0 : i64} : tensor<8x32x8x8xf32> -> tensor<8x8x32x8xf32>
    %9 = weft.matmul %3, %arg8 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %10 = weft.broadcast_in_dim %arg9, dims = [2] {weft.block = 0 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %11 = weft.add %9, %10 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %12 = weft.reshape %11 {weft.block = 0 : i64} : tensor<8x32x64xf32> -> tensor<8x32x8x8xf32>
    %13 = weft.transpose %12, perm = [0, 2, 1, 3] {weft.block = 0 : i64} : tensor<8x32x8x8xf32> -> tensor<8x8x32x8xf32>
    %14 = weft.matmul %3, %arg10 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %15 = weft.broadcast_in_dim %arg11, dims = [2] {weft.block = 0 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %16 = weft.add %14, %15 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %17 = weft.reshape %16 {weft.block = 0 : i64} : tensor<8x32x64xf32> -> tensor<8x32x8x8xf32>
    %18 = weft.transpose %17, perm = [0, 2, 1, 3] {weft.block = 0 : i64} : tensor<8x32x8x8xf32> -> tensor<8x8x32x8xf32>
    %19 = weft.attention %8, %13, %18 {weft.block = 0 : i64} : (tensor<8x8x32x8xf32>, tensor<8x8x32x8xf32>, tensor<8x8x32x8xf32>) -> tensor<8x8x32x8xf32>
    %20 = weft.transpose %19, perm = [0, 2, 1, 3] {weft.block = 0 : i64} : tensor<8x8x32x8xf32> -> tensor<8x32x8x8xf32>
    %21 = weft.reshape %20 {weft.block = 0 : i64} : tensor<8x32x8x8xf32> -> tensor<8x32x64xf32>
    %22 = weft.matmul %21, %arg12 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %23 = weft.broadcast_in_dim %arg13, dims = [2] {weft.block = 0 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %24 = weft.add %22, %23 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %25 = weft.add %3, %24 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %26 = weft.layer_norm %25, %arg14, %arg15 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x32x64xf32>
    %27 = weft.matmul %26, %arg16 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64x256xf32>) -> tensor<8x32x256xf32>
    %28 = weft.broadcast_in_dim %arg17, dims = [2] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x32x256xf32>
    %29 = weft.add %27, %28 {weft.block = 0 : i64} : tensor<8x32x256xf32>
    %30 = weft.gelu %29 {weft.block = 0 : i64} : tensor<8x32x256xf32>
    %31 = weft.matmul %30, %arg18 {weft.block = 0 : i64} : (tensor<8x32x256xf32>, tensor<256x64xf32>) -> tensor<8x32x64xf32>
    %32 = weft.broadcast_in_dim %arg19, dims = [2] {weft.block = 0 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %33 = weft.add %31, %32 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %34 = weft.add %26, %33 {weft.block = 0 : i64} : tensor<8x32x64xf32>
    %35 = weft.layer_norm %34, %arg20, %arg21 {weft.block = 0 : i64} : (tensor<8x32x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x32x64xf32>
    %36 = weft.matmul %35, %arg22 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %37 = weft.broadcast_in_dim %arg23, dims = [2] {weft.block = 1 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %38 = weft.add %36, %37 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %39 = weft.reshape %38 {weft.block = 1 : i64} : tensor<8x32x64xf32> -> tensor<8x32x8x8xf32>
    %40 = weft.transpose %39, perm = [0, 2, 1, 3] {weft.block = 1 : i64} : tensor<8x32x8x8xf32> -> tensor<8x8x32x8xf32>
    %41 = weft.matmul %35, %arg24 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %42 = weft.broadcast_in_dim %arg25, dims = [2] {weft.block = 1 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %43 = weft.add %41, %42 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %44 = weft.reshape %43 {weft.block = 1 : i64} : tensor<8x32x64xf32> -> tensor<8x32x8x8xf32>
    %45 = weft.transpose %44, perm = [0, 2, 1, 3] {weft.block = 1 : i64} : tensor<8x32x8x8xf32> -> tensor<8x8x32x8xf32>
    %46 = weft.matmul %35, %arg26 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %47 = weft.broadcast_in_dim %arg27, dims = [2] {weft.block = 1 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %48 = weft.add %46, %47 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %49 = weft.reshape %48 {weft.block = 1 : i64} : tensor<8x32x64xf32> -> tensor<8x32x8x8xf32>
    %50 = weft.transpose %49, perm = [0, 2, 1, 3] {weft.block = 1 : i64} : tensor<8x32x8x8xf32> -> tensor<8x8x32x8xf32>
    %51 = weft.attention %40, %45, %50 {weft.block = 1 : i64} : (tensor<8x8x32x8xf32>, tensor<8x8x32x8xf32>, tensor<8x8x32x8xf32>) -> tensor<8x8x32x8xf32>
    %52 = weft.transpose %51, perm = [0, 2, 1, 3] {weft.block = 1 : i64} : tensor<8x8x32x8xf32> -> tensor<8x32x8x8xf32>
    %53 = weft.reshape %52 {weft.block = 1 : i64} : tensor<8x32x8x8xf32> -> tensor<8x32x64xf32>
    %54 = weft.matmul %53, %arg28 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %55 = weft.broadcast_in_dim %arg29, dims = [2] {weft.block = 1 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %56 = weft.add %54, %55 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %57 = weft.add %35, %56 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %58 = weft.layer_norm %57, %arg30, %arg31 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x32x64xf32>
    %59 = weft.matmul %58, %arg32 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64x256xf32>) -> tensor<8x32x256xf32>
    %60 = weft.broadcast_in_dim %arg33, dims = [2] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x32x256xf32>
    %61 = weft.add %59, %60 {weft.block = 1 : i64} : tensor<8x32x256xf32>
    %62 = weft.gelu %61 {weft.block = 1 : i64} : tensor<8x32x256xf32>
    %63 = weft.matmul %62, %arg34 {weft.block = 1 : i64} : (tensor<8x32x256xf32>, tensor<256x64xf32>) -> tensor<8x32x64xf32>
    %64 = weft.broadcast_in_dim %arg35, dims = [2] {weft.block = 1 : i64} : tensor<64xf32> -> tensor<8x32x64xf32>
    %65 = weft.add %63, %64 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %66 = weft.add %58, %65 {weft.block = 1 : i64} : tensor<8x32x64xf32>
    %67 = weft.layer_norm %66, %arg36, %arg37 {weft.block = 1 : i64} : (tensor<8x32x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x32x64xf32>
    %68 = weft.matmul %67, %arg38 : (tensor<8x32x64xf32>, tensor<64x64xf32>) -> tensor<8x32x64xf32>
    %69 = weft.broadcast_in_dim %arg39, dims = [2] : tensor<64xf32> -> tensor<8x32x64xf32>
    %70 = weft.add %68, %69 : tensor<8x32x64xf32>
    %71 = weft.gelu %70 : tensor<8x32x64xf32>
    %72 = weft.layer_norm %71, %arg40, %arg41 : (tensor<8x32x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x32x64xf32>
    %73 = weft.matmul %72, %arg2 {transpose_b = true} : (tensor<8x32x64xf32>, tensor<128x64xf32>) -> tensor<8x32x128xf32>
    %74 = weft.broadcast_in_dim %arg42, dims = [2] : tensor<128xf32> -> tensor<8x32x128xf32>
    %75 = weft.add %73, %74 : tensor<8x32x128xf32>
    %76 = weft.cross_entropy %75, %arg1 : (tensor<8x32x128xf32>, tensor<8x32xi32>) -> tensor<f32>
    return %76, %75 : tensor<f32>, tensor<8x32x128xf32>
  }
}
