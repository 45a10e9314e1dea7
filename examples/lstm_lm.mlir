module {
  func.func @forward(
      %arg0: tensor<8x16xi32> {weft.input = "tokens"},
      %arg1: tensor<8x16xi32> {weft.input = "labels"},
      %arg2: tensor<64x64xf32> {weft.init = {dist = "normal", std = 1.000000e-01 : f32}, weft.param = "embedding"},
      %arg3: tensor<64x256xf32> {weft.init = {dist = "uniform", high = 1.250000e-01 : f32, low = -1.250000e-01 : f32}, weft.param = "lstm.0.w_ih"},
      %arg4: tensor<64x256xf32> {weft.init = {dist = "uniform", high = 1.250000e-01 : f32, low = -1.250000e-01 : f32}, weft.param = "lstm.0.w_hh"},
      %arg5: tensor<256xf32> {weft.init = {dist = "zeros"}, weft.param = "lstm.0.bias"},
      %arg6: tensor<64x256xf32> {weft.init = {dist = "uniform", high = 1.250000e-01 : f32, low = -1.250000e-01 : f32}, weft.param = "lstm.1.w_ih"},
      %arg7: tensor<64x256xf32> {weft.init = {dist = "uniform", high = 1.250000e-01 : f32, low = -1.250000e-01 : f32}, weft.param = "lstm.1.w_hh"},
      %arg8: tensor<256xf32> {weft.init = {dist = "zeros"}, weft.param = "lstm.1.bias"},
      %arg9: tensor<64x64xf32> {weft.init = {dist = "uniform", high = 1.250000e-01 : f32, low = -1.250000e-01 : f32}, weft.param = "head.weight"},
      %arg10: tensor<64xf32> {weft.init = {dist = "zeros"}, weft.param = "head.bias"}
  ) -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<8x16x64xf32> {weft.output = "logits"}) {
    %0 = weft.embedding %arg2, %arg0 : (tensor<64x64xf32>, tensor<8x16xi32>) -> tensor<8x16x64xf32>
    %1 = weft.slice %0, start = [0, 0, 0], limit = [8, 1, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %2 = weft.reshape %1 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %3 = weft.slice %0, start = [0, 1, 0], limit = [8, 2, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %4 = weft.reshape %3 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %5 = weft.slice %0, start = [0, 2, 0], limit = [8, 3, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %6 = weft.reshape %5 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %7 = weft.slice %0, start = [0, 3, 0], limit = [8, 4, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %8 = weft.reshape %7 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %9 = weft.slice %0, start = [0, 4, 0], limit = [8, 5, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %10 = weft.reshape %9 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %11 = weft.slice %0, start = [0, 5, 0], limit = [8, 6, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %12 = weft.reshape %11 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %13 = weft.slice %0, start = [0, 6, 0], limit = [8, 7, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %14 = weft.reshape %13 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %15 = weft.slice %0, start = [0, 7, 0], limit = [8, 8, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %16 = weft.reshape %15 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %17 = weft.slice %0, start = [0, 8, 0], limit = [8, 9, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %18 = weft.reshape %17 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %19 = weft.slice %0, start = [0, 9, 0], limit = [8, 10, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %20 = weft.reshape %19 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %21 = weft.slice %0, start = [0, 10, 0], limit = [8, 11, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %22 = weft.reshape %21 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %23 = weft.slice %0, start = [0, 11, 0], limit = [8, 12, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %24 = weft.reshape %23 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %25 = weft.slice %0, start = [0, 12, 0], limit = [8, 13, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %26 = weft.reshape %25 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %27 = weft.slice %0, start = [0, 13, 0], limit = [8, 14, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %28 = weft.reshape %27 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %29 = weft.slice %0, start = [0, 14, 0], limit = [8, 15, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %30 = weft.reshape %29 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %31 = weft.slice %0, start = [0, 15, 0], limit = [8, 16, 64] : tensor<8x16x64xf32> -> tensor<8x1x64xf32>
    %32 = weft.reshape %31 : tensor<8x1x64xf32> -> tensor<8x64xf32>
    %33 = weft.constant dense<0.000000e+00> : tensor<8x64xf32> {weft.block = 0 : i64}
    %34 = weft.constant dense<0.000000e+00> : tensor<8x64xf32> {weft.block = 0 : i64}
    %35 = weft.matmul %33, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %36 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %37 = weft.add %35, %36 {weft.block = 0 : i64} : tensor<8x256xf32>
    %38 = weft.matmul %2, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %39 = weft.add %38, %37 {weft.block = 0 : i64} : tensor<8x256xf32>
    %40 = weft.slice %39, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %41 = weft.sigmoid %40 {weft.block = 0 : i64} : tensor<8x64xf32>
    %42 = weft.slice %39, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %43 = weft.sigmoid %42 {weft.block = 0 : i64} : tensor<8x64xf32>
    %44 = weft.slice %39, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %45 = weft.tanh %44 {weft.block = 0 : i64} : tensor<8x64xf32>
    %46 = weft.slice %39, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %47 = weft.sigmoid %46 {weft.block = 0 : i64} : tensor<8x64xf32>
    %48 = weft.mul %41, %45 {weft.block = 0 : i64} : tensor<8x64xf32>
    %49 = weft.mul %43, %34 {weft.block = 0 : i64} : tensor<8x64xf32>
    %50 = weft.add %49, %48 {weft.block = 0 : i64} : tensor<8x64xf32>
    %51 = weft.tanh %50 {weft.block = 0 : i64} : tensor<8x64xf32>
    %52 = weft.mul %47, %51 {weft.block = 0 : i64} : tensor<8x64xf32>
    %53 = weft.matmul %52, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %54 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %55 = weft.add %53, %54 {weft.block = 0 : i64} : tensor<8x256xf32>
    %56 = weft.matmul %4, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %57 = weft.add %56, %55 {weft.block = 0 : i64} : tensor<8x256xf32>
    %58 = weft.slice %57, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %59 = weft.sigmoid %58 {weft.block = 0 : i64} : tensor<8x64xf32>
    %60 = weft.slice %57, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %61 = weft.sigmoid %60 {weft.block = 0 : i64} : tensor<8x64xf32>
    %62 = weft.slice %57, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %63 = weft.tanh %62 {weft.block = 0 : i64} : tensor<8x64xf32>
    %64 = weft.slice %57, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %65 = weft.sigmoid %64 {weft.block = 0 : i64} : tensor<8x64xf32>
    %66 = weft.mul %59, %63 {weft.block = 0 : i64} : tensor<8x64xf32>
    %67 = weft.mul %61, %50 {weft.block = 0 : i64} : tensor<8x64xf32>
    %68 = weft.add %67, %66 {weft.block = 0 : i64} : tensor<8x64xf32>
    %69 = weft.tanh %68 {weft.block = 0 : i64} : tensor<8x64xf32>
    %70 = weft.mul %65, %69 {weft.block = 0 : i64} : tensor<8x64xf32>
    %71 = weft.matmul %70, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %72 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %73 = weft.add %71, %72 {weft.block = 0 : i64} : tensor<8x256xf32>
    %74 = weft.matmul %6, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %75 = weft.add %74, %73 {weft.block = 0 : i64} : tensor<8x256xf32>
    %76 = weft.slice %75, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %77 = weft.sigmoid %76 {weft.block = 0 : i64} : tensor<8x64xf32>
    %78 = weft.slice %75, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %79 = weft.sigmoid %78 {weft.block = 0 : i64} : tensor<8x64xf32>
    %80 = weft.slice %75, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %81 = weft.tanh %80 {weft.block = 0 : i64} : tensor<8x64xf32>
    %82 = weft.slice %75, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %83 = weft.sigmoid %82 {weft.block = 0 : i64} : tensor<8x64xf32>
    %84 = weft.mul %77, %81 {weft.block = 0 : i64} : tensor<8x64xf32>
    %85 = weft.mul %79, %68 {weft.block = 0 : i64} : tensor<8x64xf32>
    %86 = weft.add %85, %84 {weft.block = 0 : i64} : tensor<8x64xf32>
    %87 = weft.tanh %86 {weft.block = 0 : i64} : tensor<8x64xf32>
    %88 = weft.mul %83, %87 {weft.block = 0 : i64} : tensor<8x64xf32>
    %89 = weft.matmul %88, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %90 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %91 = weft.add %89, %90 {weft.block = 0 : i64} : tensor<8x256xf32>
    %92 = weft.matmul %8, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %93 = weft.add %92, %91 {weft.block = 0 : i64} : tensor<8x256xf32>
    %94 = weft.slice %93, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %95 = weft.sigmoid %94 {weft.block = 0 : i64} : tensor<8x64xf32>
    %96 = weft.slice %93, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %97 = weft.sigmoid %96 {weft.block = 0 : i64} : tensor<8x64xf32>
    %98 = weft.slice %93, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %99 = weft.tanh %98 {weft.block = 0 : i64} : tensor<8x64xf32>
    %100 = weft.slice %93, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %101 = weft.sigmoid %100 {weft.block = 0 : i64} : tensor<8x64xf32>
    %102 = weft.mul %95, %99 {weft.block = 0 : i64} : tensor<8x64xf32>
    %103 = weft.mul %97, %86 {weft.block = 0 : i64} : tensor<8x64xf32>
    %104 = weft.add %103, %102 {weft.block = 0 : i64} : tensor<8x64xf32>
    %105 = weft.tanh %104 {weft.block = 0 : i64} : tensor<8x64xf32>
    %106 = weft.mul %101, %105 {weft.block = 0 : i64} : tensor<8x64xf32>
    %107 = weft.matmul %106, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %108 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %109 = weft.add %107, %108 {weft.block = 0 : i64} : tensor<8x256xf32>
    %110 = weft.matmul %10, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %111 = weft.add %110, %109 {weft.block = 0 : i64} : tensor<8x256xf32>
    %112 = weft.slice %111, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %113 = weft.sigmoid %112 {weft.block = 0 : i64} : tensor<8x64xf32>
    %114 = weft.slice %111, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %115 = weft.sigmoid %114 {weft.block = 0 : i64} : tensor<8x64xf32>
    %116 = weft.slice %111, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %117 = weft.tanh %116 {weft.block = 0 : i64} : tensor<8x64xf32>
    %118 = weft.slice %111, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %119 = weft.sigmoid %118 {weft.block = 0 : i64} : tensor<8x64xf32>
    %120 = weft.mul %113, %117 {weft.block = 0 : i64} : tensor<8x64xf32>
    %121 = weft.mul %115, %104 {weft.block = 0 : i64} : tensor<8x64xf32>
    %122 = weft.add %121, %120 {weft.block = 0 : i64} : tensor<8x64xf32>
    %123 = weft.tanh %122 {weft.block = 0 : i64} : tensor<8x64xf32>
    %124 = weft.mul %119, %123 {weft.block = 0 : i64} : tensor<8x64xf32>
    %125 = weft.matmul %124, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %126 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %127 = weft.add %125, %126 {weft.block = 0 : i64} : tensor<8x256xf32>
    %128 = weft.matmul %12, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %129 = weft.add %128, %127 {weft.block = 0 : i64} : tensor<8x256xf32>
    %130 = weft.slice %129, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %131 = weft.sigmoid %130 {weft.block = 0 : i64} : tensor<8x64xf32>
    %132 = weft.slice %129, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %133 = weft.sigmoid %132 {weft.block = 0 : i64} : tensor<8x64xf32>
    %134 = weft.slice %129, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %135 = weft.tanh %134 {weft.block = 0 : i64} : tensor<8x64xf32>
    %136 = weft.slice %129, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %137 = weft.sigmoid %136 {weft.block = 0 : i64} : tensor<8x64xf32>
    %138 = weft.mul %131, %135 {weft.block = 0 : i64} : tensor<8x64xf32>
    %139 = weft.mul %133, %122 {weft.block = 0 : i64} : tensor<8x64xf32>
    %140 = weft.add %139, %138 {weft.block = 0 : i64} : tensor<8x64xf32>
    %141 = weft.tanh %140 {weft.block = 0 : i64} : tensor<8x64xf32>
    %142 = weft.mul %137, %141 {weft.block = 0 : i64} : tensor<8x64xf32>
    %143 = weft.matmul %142, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %144 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %145 = weft.add %143, %144 {weft.block = 0 : i64} : tensor<8x256xf32>
    %146 = weft.matmul %14, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %147 = weft.add %146, %145 {weft.block = 0 : i64} : tensor<8x256xf32>
    %148 = weft.slice %147, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %149 = weft.sigmoid %148 {weft.block = 0 : i64} : tensor<8x64xf32>
    %150 = weft.slice %147, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %151 = weft.sigmoid %150 {weft.block = 0 : i64} : tensor<8x64xf32>
    %152 = weft.slice %147, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %153 = weft.tanh %152 {weft.block = 0 : i64} : tensor<8x64xf32>
    %154 = weft.slice %147, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %155 = weft.sigmoid %154 {weft.block = 0 : i64} : tensor<8x64xf32>
    %156 = weft.mul %149, %153 {weft.block = 0 : i64} : tensor<8x64xf32>
    %157 = weft.mul %151, %140 {weft.block = 0 : i64} : tensor<8x64xf32>
    %158 = weft.add %157, %156 {weft.block = 0 : i64} : tensor<8x64xf32>
    %159 = weft.tanh %158 {weft.block = 0 : i64} : tensor<8x64xf32>
    %160 = weft.mul %155, %159 {weft.block = 0 : i64} : tensor<8x64xf32>
    %161 = weft.matmul %160, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %162 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %163 = weft.add %161, %162 {weft.block = 0 : i64} : tensor<8x256xf32>
    %164 = weft.matmul %16, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %165 = weft.add %164, %163 {weft.block = 0 : i64} : tensor<8x256xf32>
    %166 = weft.slice %165, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %167 = weft.sigmoid %166 {weft.block = 0 : i64} : tensor<8x64xf32>
    %168 = weft.slice %165, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %169 = weft.sigmoid %168 {weft.block = 0 : i64} : tensor<8x64xf32>
    %170 = weft.slice %165, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %171 = weft.tanh %170 {weft.block = 0 : i64} : tensor<8x64xf32>
    %172 = weft.slice %165, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %173 = weft.sigmoid %172 {weft.block = 0 : i64} : tensor<8x64xf32>
    %174 = weft.mul %167, %171 {weft.block = 0 : i64} : tensor<8x64xf32>
    %175 = weft.mul %169, %158 {weft.block = 0 : i64} : tensor<8x64xf32>
    %176 = weft.add %175, %174 {weft.block = 0 : i64} : tensor<8x64xf32>
    %177 = weft.tanh %176 {weft.block = 0 : i64} : tensor<8x64xf32>
    %178 = weft.mul %173, %177 {weft.block = 0 : i64} : tensor<8x64xf32>
    %179 = weft.matmul %178, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %180 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %181 = weft.add %179, %180 {weft.block = 0 : i64} : tensor<8x256xf32>
    %182 = weft.matmul %18, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %183 = weft.add %182, %181 {weft.block = 0 : i64} : tensor<8x256xf32>
    %184 = weft.slice %183, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %185 = weft.sigmoid %184 {weft.block = 0 : i64} : tensor<8x64xf32>
    %186 = weft.slice %183, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %187 = weft.sigmoid %186 {weft.block = 0 : i64} : tensor<8x64xf32>
    %188 = weft.slice %183, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %189 = weft.tanh %188 {weft.block = 0 : i64} : tensor<8x64xf32>
    %190 = weft.slice %183, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %191 = weft.sigmoid %190 {weft.block = 0 : i64} : tensor<8x64xf32>
    %192 = weft.mul %185, %189 {weft.block = 0 : i64} : tensor<8x64xf32>
    %193 = weft.mul %187, %176 {weft.block = 0 : i64} : tensor<8x64xf32>
    %194 = weft.add %193, %192 {weft.block = 0 : i64} : tensor<8x64xf32>
    %195 = weft.tanh %194 {weft.block = 0 : i64} : tensor<8x64xf32>
    %196 = weft.mul %191, %195 {weft.block = 0 : i64} : tensor<8x64xf32>
    %197 = weft.matmul %196, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %198 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %199 = weft.add %197, %198 {weft.block = 0 : i64} : tensor<8x256xf32>
    %200 = weft.matmul %20, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %201 = weft.add %200, %199 {weft.block = 0 : i64} : tensor<8x256xf32>
    %202 = weft.slice %201, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %203 = weft.sigmoid %202 {weft.block = 0 : i64} : tensor<8x64xf32>
    %204 = weft.slice %201, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %205 = weft.sigmoid %204 {weft.block = 0 : i64} : tensor<8x64xf32>
    %206 = weft.slice %201, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %207 = weft.tanh %206 {weft.block = 0 : i64} : tensor<8x64xf32>
    %208 = weft.slice %201, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %209 = weft.sigmoid %208 {weft.block = 0 : i64} : tensor<8x64xf32>
    %210 = weft.mul %203, %207 {weft.block = 0 : i64} : tensor<8x64xf32>
    %211 = weft.mul %205, %194 {weft.block = 0 : i64} : tensor<8x64xf32>
    %212 = weft.add %211, %210 {weft.block = 0 : i64} : tensor<8x64xf32>
    %213 = weft.tanh %212 {weft.block = 0 : i64} : tensor<8x64xf32>
    %214 = weft.mul %209, %213 {weft.block = 0 : i64} : tensor<8x64xf32>
    %215 = weft.matmul %214, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %216 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %217 = weft.add %215, %216 {weft.block = 0 : i64} : tensor<8x256xf32>
    %218 = weft.matmul %22, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %219 = weft.add %218, %217 {weft.block = 0 : i64} : tensor<8x256xf32>
    %220 = weft.slice %219, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %221 = weft.sigmoid %220 {weft.block = 0 : i64} : tensor<8x64xf32>
    %222 = weft.slice %219, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %223 = weft.sigmoid %222 {weft.block = 0 : i64} : tensor<8x64xf32>
    %224 = weft.slice %219, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %225 = weft.tanh %224 {weft.block = 0 : i64} : tensor<8x64xf32>
    %226 = weft.slice %219, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %227 = weft.sigmoid %226 {weft.block = 0 : i64} : tensor<8x64xf32>
    %228 = weft.mul %221, %225 {weft.block = 0 : i64} : tensor<8x64xf32>
    %229 = weft.mul %223, %212 {weft.block = 0 : i64} : tensor<8x64xf32>
    %230 = weft.add %229, %228 {weft.block = 0 : i64} : tensor<8x64xf32>
    %231 = weft.tanh %230 {weft.block = 0 : i64} : tensor<8x64xf32>
    %232 = weft.mul %227, %231 {weft.block = 0 : i64} : tensor<8x64xf32>
    %233 = weft.matmul %232, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %234 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %235 = weft.add %233, %234 {weft.block = 0 : i64} : tensor<8x256xf32>
    %236 = weft.matmul %24, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %237 = weft.add %236, %235 {weft.block = 0 : i64} : tensor<8x256xf32>
    %238 = weft.slice %237, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %239 = weft.sigmoid %238 {weft.block = 0 : i64} : tensor<8x64xf32>
    %240 = weft.slice %237, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %241 = weft.sigmoid %240 {weft.block = 0 : i64} : tensor<8x64xf32>
    %242 = weft.slice %237, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %243 = weft.tanh %242 {weft.block = 0 : i64} : tensor<8x64xf32>
    %244 = weft.slice %237, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %245 = weft.sigmoid %244 {weft.block = 0 : i64} : tensor<8x64xf32>
    %246 = weft.mul %239, %243 {weft.block = 0 : i64} : tensor<8x64xf32>
    %247 = weft.mul %241, %230 {weft.block = 0 : i64} : tensor<8x64xf32>
    %248 = weft.add %247, %246 {weft.block = 0 : i64} : tensor<8x64xf32>
    %249 = weft.tanh %248 {weft.block = 0 : i64} : tensor<8x64xf32>
    %250 = weft.mul %245, %249 {weft.block = 0 : i64} : tensor<8x64xf32>
    %251 = weft.matmul %250, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %252 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %253 = weft.add %251, %252 {weft.block = 0 : i64} : tensor<8x256xf32>
    %254 = weft.matmul %26, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %255 = weft.add %254, %253 {weft.block = 0 : i64} : tensor<8x256xf32>
    %256 = weft.slice %255, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %257 = weft.sigmoid %256 {weft.block = 0 : i64} : tensor<8x64xf32>
    %258 = weft.slice %255, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %259 = weft.sigmoid %258 {weft.block = 0 : i64} : tensor<8x64xf32>
    %260 = weft.slice %255, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %261 = weft.tanh %260 {weft.block = 0 : i64} : tensor<8x64xf32>
    %262 = weft.slice %255, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %263 = weft.sigmoid %262 {weft.block = 0 : i64} : tensor<8x64xf32>
    %264 = weft.mul %257, %261 {weft.block = 0 : i64} : tensor<8x64xf32>
    %265 = weft.mul %259, %248 {weft.block = 0 : i64} : tensor<8x64xf32>
    %266 = weft.add %265, %264 {weft.block = 0 : i64} : tensor<8x64xf32>
    %267 = weft.tanh %266 {weft.block = 0 : i64} : tensor<8x64xf32>
    %268 = weft.mul %263, %267 {weft.block = 0 : i64} : tensor<8x64xf32>
    %269 = weft.matmul %268, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %270 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %271 = weft.add %269, %270 {weft.block = 0 : i64} : tensor<8x256xf32>
    %272 = weft.matmul %28, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %273 = weft.add %272, %271 {weft.block = 0 : i64} : tensor<8x256xf32>
    %274 = weft.slice %273, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %275 = weft.sigmoid %274 {weft.block = 0 : i64} : tensor<8x64xf32>
    %276 = weft.slice %273, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %277 = weft.sigmoid %276 {weft.block = 0 : i64} : tensor<8x64xf32>
    %278 = weft.slice %273, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %279 = weft.tanh %278 {weft.block = 0 : i64} : tensor<8x64xf32>
    %280 = weft.slice %273, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %281 = weft.sigmoid %280 {weft.block = 0 : i64} : tensor<8x64xf32>
    %282 = weft.mul %275, %279 {weft.block = 0 : i64} : tensor<8x64xf32>
    %283 = weft.mul %277, %266 {weft.block = 0 : i64} : tensor<8x64xf32>
    %284 = weft.add %283, %282 {weft.block = 0 : i64} : tensor<8x64xf32>
    %285 = weft.tanh %284 {weft.block = 0 : i64} : tensor<8x64xf32>
    %286 = weft.mul %281, %285 {weft.block = 0 : i64} : tensor<8x64xf32>
    %287 = weft.matmul %286, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %288 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %289 = weft.add %287, %288 {weft.block = 0 : i64} : tensor<8x256xf32>
    %290 = weft.matmul %30, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %291 = weft.add %290, %289 {weft.block = 0 : i64} : tensor<8x256xf32>
    %292 = weft.slice %291, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %293 = weft.sigmoid %292 {weft.block = 0 : i64} : tensor<8x64xf32>
    %294 = weft.slice %291, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %295 = weft.sigmoid %294 {weft.block = 0 : i64} : tensor<8x64xf32>
    %296 = weft.slice %291, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %297 = weft.tanh %296 {weft.block = 0 : i64} : tensor<8x64xf32>
    %298 = weft.slice %291, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %299 = weft.sigmoid %298 {weft.block = 0 : i64} : tensor<8x64xf32>
    %300 = weft.mul %293, %297 {weft.block = 0 : i64} : tensor<8x64xf32>
    %301 = weft.mul %295, %284 {weft.block = 0 : i64} : tensor<8x64xf32>
    %302 = weft.add %301, %300 {weft.block = 0 : i64} : tensor<8x64xf32>
    %303 = weft.tanh %302 {weft.block = 0 : i64} : tensor<8x64xf32>
    %304 = weft.mul %299, %303 {weft.block = 0 : i64} : tensor<8x64xf32>
    %305 = weft.matmul %304, %arg4 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %306 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 0 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %307 = weft.add %305, %306 {weft.block = 0 : i64} : tensor<8x256xf32>
    %308 = weft.matmul %32, %arg3 {weft.block = 0 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %309 = weft.add %308, %307 {weft.block = 0 : i64} : tensor<8x256xf32>
    %310 = weft.slice %309, start = [0, 0], limit = [8, 64] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %311 = weft.sigmoid %310 {weft.block = 0 : i64} : tensor<8x64xf32>
    %312 = weft.slice %309, start = [0, 64], limit = [8, 128] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %313 = weft.sigmoid %312 {weft.block = 0 : i64} : tensor<8x64xf32>
    %314 = weft.slice %309, start = [0, 128], limit = [8, 192] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %315 = weft.tanh %314 {weft.block = 0 : i64} : tensor<8x64xf32>
    %316 = weft.slice %309, start = [0, 192], limit = [8, 256] {weft.block = 0 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %317 = weft.sigmoid %316 {weft.block = 0 : i64} : tensor<8x64xf32>
    %318 = weft.mul %311, %315 {weft.block = 0 : i64} : tensor<8x64xf32>
    %319 = weft.mul %313, %302 {weft.block = 0 : i64} : tensor<8x64xf32>
    %320 = weft.add %319, %318 {weft.block = 0 : i64} : tensor<8x64xf32>
    %321 = weft.tanh %320 {weft.block = 0 : i64} : tensor<8x64xf32>
    %322 = weft.mul %317, %321 {weft.block = 0 : i64} : tensor<8x64xf32>
    %323 = weft.constant dense<0.000000e+00> : tensor<8x64xf32> {weft.block = 1 : i64}
    %324 = weft.constant dense<0.000000e+00> : tensor<8x64xf32> {weft.block = 1 : i64}
    %325 = weft.matmul %323, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %326 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %327 = weft.add %325, %326 {weft.block = 1 : i64} : tensor<8x256xf32>
    %328 = weft.matmul %52, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %329 = weft.add %328, %327 {weft.block = 1 : i64} : tensor<8x256xf32>
    %330 = weft.slice %329, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %331 = weft.sigmoid %330 {weft.block = 1 : i64} : tensor<8x64xf32>
    %332 = weft.slice %329, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %333 = weft.sigmoid %332 {weft.block = 1 : i64} : tensor<8x64xf32>
    %334 = weft.slice %329, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %335 = weft.tanh %334 {weft.block = 1 : i64} : tensor<8x64xf32>
    %336 = weft.slice %329, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %337 = weft.sigmoid %336 {weft.block = 1 : i64} : tensor<8x64xf32>
    %338 = weft.mul %331, %335 {weft.block = 1 : i64} : tensor<8x64xf32>
    %339 = weft.mul %333, %324 {weft.block = 1 : i64} : tensor<8x64xf32>
    %340 = weft.add %339, %338 {weft.block = 1 : i64} : tensor<8x64xf32>
    %341 = weft.tanh %340 {weft.block = 1 : i64} : tensor<8x64xf32>
    %342 = weft.mul %337, %341 {weft.block = 1 : i64} : tensor<8x64xf32>
    %343 = weft.matmul %342, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %344 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %345 = weft.add %343, %344 {weft.block = 1 : i64} : tensor<8x256xf32>
    %346 = weft.matmul %70, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %347 = weft.add %346, %345 {weft.block = 1 : i64} : tensor<8x256xf32>
    %348 = weft.slice %347, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %349 = weft.sigmoid %348 {weft.block = 1 : i64} : tensor<8x64xf32>
    %350 = weft.slice %347, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %351 = weft.sigmoid %350 {weft.block = 1 : i64} : tensor<8x64xf32>
    %352 = weft.slice %347, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %353 = weft.tanh %352 {weft.block = 1 : i64} : tensor<8x64xf32>
    %354 = weft.slice %347, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %355 = weft.sigmoid %354 {weft.block = 1 : i64} : tensor<8x64xf32>
    %356 = weft.mul %349, %353 {weft.block = 1 : i64} : tensor<8x64xf32>
    %357 = weft.mul %351, %340 {weft.block = 1 : i64} : tensor<8x64xf32>
    %358 = weft.add %357, %356 {weft.block = 1 : i64} : tensor<8x64xf32>
    %359 = weft.tanh %358 {weft.block = 1 : i64} : tensor<8x64xf32>
    %360 = weft.mul %355, %359 {weft.block = 1 : i64} : tensor<8x64xf32>
    %361 = weft.matmul %360, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %362 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %363 = weft.add %361, %362 {weft.block = 1 : i64} : tensor<8x256xf32>
    %364 = weft.matmul %88, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %365 = weft.add %364, %363 {weft.block = 1 : i64} : tensor<8x256xf32>
    %366 = weft.slice %365, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %367 = weft.sigmoid %366 {weft.block = 1 : i64} : tensor<8x64xf32>
    %368 = weft.slice %365, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %369 = weft.sigmoid %368 {weft.block = 1 : i64} : tensor<8x64xf32>
    %370 = weft.slice %365, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %371 = weft.tanh %370 {weft.block = 1 : i64} : tensor<8x64xf32>
    %372 = weft.slice %365, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %373 = weft.sigmoid %372 {weft.block = 1 : i64} : tensor<8x64xf32>
    %374 = weft.mul %367, %371 {weft.block = 1 : i64} : tensor<8x64xf32>
    %375 = weft.mul %369, %358 {weft.block = 1 : i64} : tensor<8x64xf32>
    %376 = weft.add %375, %374 {weft.block = 1 : i64} : tensor<8x64xf32>
    %377 = weft.tanh %376 {weft.block = 1 : i64} : tensor<8x64xf32>
    %378 = weft.mul %373, %377 {weft.block = 1 : i64} : tensor<8x64xf32>
    %379 = weft.matmul %378, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %380 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %381 = weft.add %379, %380 {weft.block = 1 : i64} : tensor<8x256xf32>
    %382 = weft.matmul %106, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %383 = weft.add %382, %381 {weft.block = 1 : i64} : tensor<8x256xf32>
    %384 = weft.slice %383, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %385 = weft.sigmoid %384 {weft.block = 1 : i64} : tensor<8x64xf32>
    %386 = weft.slice %383, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %387 = weft.sigmoid %386 {weft.block = 1 : i64} : tensor<8x64xf32>
    %388 = weft.slice %383, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %389 = weft.tanh %388 {weft.block = 1 : i64} : tensor<8x64xf32>
    %390 = weft.slice %383, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %391 = weft.sigmoid %390 {weft.block = 1 : i64} : tensor<8x64xf32>
    %392 = weft.mul %385, %389 {weft.block = 1 : i64} : tensor<8x64xf32>
    %393 = weft.mul %387, %376 {weft.block = 1 : i64} : tensor<8x64xf32>
    %394 = weft.add %393, %392 {weft.block = 1 : i64} : tensor<8x64xf32>
    %395 = weft.tanh %394 {weft.block = 1 : i64} : tensor<8x64xf32>
    %396 = weft.mul %391, %395 {weft.block = 1 : i64} : tensor<8x64xf32>
    %397 = weft.matmul %396, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %398 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %399 = weft.add %397, %398 {weft.block = 1 : i64} : tensor<8x256xf32>
    %400 = weft.matmul %124, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %401 = weft.add %400, %399 {weft.block = 1 : i64} : tensor<8x256xf32>
    %402 = weft.slice %401, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %403 = weft.sigmoid %402 {weft.block = 1 : i64} : tensor<8x64xf32>
    %404 = weft.slice %401, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %405 = weft.sigmoid %404 {weft.block = 1 : i64} : tensor<8x64xf32>
    %406 = weft.slice %401, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %407 = weft.tanh %406 {weft.block = 1 : i64} : tensor<8x64xf32>
    %408 = weft.slice %401, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %409 = weft.sigmoid %408 {weft.block = 1 : i64} : tensor<8x64xf32>
    %410 = weft.mul %403, %407 {weft.block = 1 : i64} : tensor<8x64xf32>
    %411 = weft.mul %405, %394 {weft.block = 1 : i64} : tensor<8x64xf32>
    %412 = weft.add %411, %410 {weft.block = 1 : i64} : tensor<8x64xf32>
    %413 = weft.tanh %412 {weft.block = 1 : i64} : tensor<8x64xf32>
    %414 = weft.mul %409, %413 {weft.block = 1 : i64} : tensor<8x64xf32>
    %415 = weft.matmul %414, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %416 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %417 = weft.add %415, %416 {weft.block = 1 : i64} : tensor<8x256xf32>
    %418 = weft.matmul %142, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %419 = weft.add %418, %417 {weft.block = 1 : i64} : tensor<8x256xf32>
    %420 = weft.slice %419, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %421 = weft.sigmoid %420 {weft.block = 1 : i64} : tensor<8x64xf32>
    %422 = weft.slice %419, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %423 = weft.sigmoid %422 {weft.block = 1 : i64} : tensor<8x64xf32>
    %424 = weft.slice %419, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %425 = weft.tanh %424 {weft.block = 1 : i64} : tensor<8x64xf32>
    %426 = weft.slice %419, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %427 = weft.sigmoid %426 {weft.block = 1 : i64} : tensor<8x64xf32>
    %428 = weft.mul %421, %425 {weft.block = 1 : i64} : tensor<8x64xf32>
    %429 = weft.mul %423, %412 {weft.block = 1 : i64} : tensor<8x64xf32>
    %430 = weft.add %429, %428 {weft.block = 1 : i64} : tensor<8x64xf32>
    %431 = weft.tanh %430 {weft.block = 1 : i64} : tensor<8x64xf32>
    %432 = weft.mul %427, %431 {weft.block = 1 : i64} : tensor<8x64xf32>
    %433 = weft.matmul %432, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %434 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %435 = weft.add %433, %434 {weft.block = 1 : i64} : tensor<8x256xf32>
    %436 = weft.matmul %160, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %437 = weft.add %436, %435 {weft.block = 1 : i64} : tensor<8x256xf32>
    %438 = weft.slice %437, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %439 = weft.sigmoid %438 {weft.block = 1 : i64} : tensor<8x64xf32>
    %440 = weft.slice %437, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %441 = weft.sigmoid %440 {weft.block = 1 : i64} : tensor<8x64xf32>
    %442 = weft.slice %437, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %443 = weft.tanh %442 {weft.block = 1 : i64} : tensor<8x64xf32>
    %444 = weft.slice %437, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %445 = weft.sigmoid %444 {weft.block = 1 : i64} : tensor<8x64xf32>
    %446 = weft.mul %439, %443 {weft.block = 1 : i64} : tensor<8x64xf32>
    %447 = weft.mul %441, %430 {weft.block = 1 : i64} : tensor<8x64xf32>
    %448 = weft.add %447, %446 {weft.block = 1 : i64} : tensor<8x64xf32>
    %449 = weft.tanh %448 {weft.block = 1 : i64} : tensor<8x64xf32>
    %450 = weft.mul %445, %449 {weft.block = 1 : i64} : tensor<8x64xf32>
    %451 = weft.matmul %450, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %452 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %453 = weft.add %451, %452 {weft.block = 1 : i64} : tensor<8x256xf32>
    %454 = weft.matmul %178, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %455 = weft.add %454, %453 {weft.block = 1 : i64} : tensor<8x256xf32>
    %456 = weft.slice %455, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %457 = weft.sigmoid %456 {weft.block = 1 : i64} : tensor<8x64xf32>
    %458 = weft.slice %455, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %459 = weft.sigmoid %458 {weft.block = 1 : i64} : tensor<8x64xf32>
    %460 = weft.slice %455, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %461 = weft.tanh %460 {weft.block = 1 : i64} : tensor<8x64xf32>
    %462 = weft.slice %455, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %463 = weft.sigmoid %462 {weft.block = 1 : i64} : tensor<8x64xf32>
    %464 = weft.mul %457, %461 {weft.block = 1 : i64} : tensor<8x64xf32>
    %465 = weft.mul %459, %448 {weft.block = 1 : i64} : tensor<8x64xf32>
    %466 = weft.add %465, %464 {weft.block = 1 : i64} : tensor<8x64xf32>
    %467 = weft.tanh %466 {weft.block = 1 : i64} : tensor<8x64xf32>
    %468 = weft.mul %463, %467 {weft.block = 1 : i64} : tensor<8x64xf32>
    %469 = weft.matmul %468, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %470 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %471 = weft.add %469, %470 {weft.block = 1 : i64} : tensor<8x256xf32>
    %472 = weft.matmul %196, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %473 = weft.add %472, %471 {weft.block = 1 : i64} : tensor<8x256xf32>
    %474 = weft.slice %473, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %475 = weft.sigmoid %474 {weft.block = 1 : i64} : tensor<8x64xf32>
    %476 = weft.slice %473, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %477 = weft.sigmoid %476 {weft.block = 1 : i64} : tensor<8x64xf32>
    %478 = weft.slice %473, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %479 = weft.tanh %478 {weft.block = 1 : i64} : tensor<8x64xf32>
    %480 = weft.slice %473, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %481 = weft.sigmoid %480 {weft.block = 1 : i64} : tensor<8x64xf32>
    %482 = weft.mul %475, %479 {weft.block = 1 : i64} : tensor<8x64xf32>
    %483 = weft.mul %477, %466 {weft.block = 1 : i64} : tensor<8x64xf32>
    %484 = weft.add %483, %482 {weft.block = 1 : i64} : tensor<8x64xf32>
    %485 = weft.tanh %484 {weft.block = 1 : i64} : tensor<8x64xf32>
    %486 = weft.mul %481, %485 {weft.block = 1 : i64} : tensor<8x64xf32>
    %487 = weft.matmul %486, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %488 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %489 = weft.add %487, %488 {weft.block = 1 : i64} : tensor<8x256xf32>
    %490 = weft.matmul %214, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %491 = weft.add %490, %489 {weft.block = 1 : i64} : tensor<8x256xf32>
    %492 = weft.slice %491, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %493 = weft.sigmoid %492 {weft.block = 1 : i64} : tensor<8x64xf32>
    %494 = weft.slice %491, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %495 = weft.sigmoid %494 {weft.block = 1 : i64} : tensor<8x64xf32>
    %496 = weft.slice %491, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %497 = weft.tanh %496 {weft.block = 1 : i64} : tensor<8x64xf32>
    %498 = weft.slice %491, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %499 = weft.sigmoid %498 {weft.block = 1 : i64} : tensor<8x64xf32>
    %500 = weft.mul %493, %497 {weft.block = 1 : i64} : tensor<8x64xf32>
    %501 = weft.mul %495, %484 {weft.block = 1 : i64} : tensor<8x64xf32>
    %502 = weft.add %501, %500 {weft.block = 1 : i64} : tensor<8x64xf32>
    %503 = weft.tanh %502 {weft.block = 1 : i64} : tensor<8x64xf32>
    %504 = weft.mul %499, %503 {weft.block = 1 : i64} : tensor<8x64xf32>
    %505 = weft.matmul %504, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %506 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %507 = weft.add %505, %506 {weft.block = 1 : i64} : tensor<8x256xf32>
    %508 = weft.matmul %232, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %509 = weft.add %508, %507 {weft.block = 1 : i64} : tensor<8x256xf32>
    %510 = weft.slice %509, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %511 = weft.sigmoid %510 {weft.block = 1 : i64} : tensor<8x64xf32>
    %512 = weft.slice %509, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %513 = weft.sigmoid %512 {weft.block = 1 : i64} : tensor<8x64xf32>
    %514 = weft.slice %509, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %515 = weft.tanh %514 {weft.block = 1 : i64} : tensor<8x64xf32>
    %516 = weft.slice %509, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %517 = weft.sigmoid %516 {weft.block = 1 : i64} : tensor<8x64xf32>
    %518 = weft.mul %511, %515 {weft.block = 1 : i64} : tensor<8x64xf32>
    %519 = weft.mul %513, %502 {weft.block = 1 : i64} : tensor<8x64xf32>
    %520 = weft.add %519, %518 {weft.block = 1 : i64} : tensor<8x64xf32>
    %521 = weft.tanh %520 {weft.block = 1 : i64} : tensor<8x64xf32>
    %522 = weft.mul %517, %521 {weft.block = 1 : i64} : tensor<8x64xf32>
    %523 = weft.matmul %522, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %524 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %525 = weft.add %523, %524 {weft.block = 1 : i64} : tensor<8x256xf32>
    %526 = weft.matmul %250, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %527 = weft.add %526, %525 {weft.block = 1 : i64} : tensor<8x256xf32>
    %528 = weft.slice %527, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %529 = weft.sigmoid %528 {weft.block = 1 : i64} : tensor<8x64xf32>
    %530 = weft.slice %527, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %531 = weft.sigmoid %530 {weft.block = 1 : i64} : tensor<8x64xf32>
    %532 = weft.slice %527, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %533 = weft.tanh %532 {weft.block = 1 : i64} : tensor<8x64xf32>
    %534 = weft.slice %527, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %535 = weft.sigmoid %534 {weft.block = 1 : i64} : tensor<8x64xf32>
    %536 = weft.mul %529, %533 {weft.block = 1 : i64} : tensor<8x64xf32>
    %537 = weft.mul %531, %520 {weft.block = 1 : i64} : tensor<8x64xf32>
    %538 = weft.add %537, %536 {weft.block = 1 : i64} : tensor<8x64xf32>
    %539 = weft.tanh %538 {weft.block = 1 : i64} : tensor<8x64xf32>
    %540 = weft.mul %535, %539 {weft.block = 1 : i64} : tensor<8x64xf32>
    %541 = weft.matmul %540, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %542 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %543 = weft.add %541, %542 {weft.block = 1 : i64} : tensor<8x256xf32>
    %544 = weft.matmul %268, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %545 = weft.add %544, %543 {weft.block = 1 : i64} : tensor<8x256xf32>
    %546 = weft.slice %545, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %547 = weft.sigmoid %546 {weft.block = 1 : i64} : tensor<8x64xf32>
    %548 = weft.slice %545, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %549 = weft.sigmoid %548 {weft.block = 1 : i64} : tensor<8x64xf32>
    %550 = weft.slice %545, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %551 = weft.tanh %550 {weft.block = 1 : i64} : tensor<8x64xf32>
    %552 = weft.slice %545, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %553 = weft.sigmoid %552 {weft.block = 1 : i64} : tensor<8x64xf32>
    %554 = weft.mul %547, %551 {weft.block = 1 : i64} : tensor<8x64xf32>
    %555 = weft.mul %549, %538 {weft.block = 1 : i64} : tensor<8x64xf32>
    %556 = weft.add %555, %554 {weft.block = 1 : i64} : tensor<8x64xf32>
    %557 = weft.tanh %556 {weft.block = 1 : i64} : tensor<8x64xf32>
    %558 = weft.mul %553, %557 {weft.block = 1 : i64} : tensor<8x64xf32>
    %559 = weft.matmul %558, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %560 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %561 = weft.add %559, %560 {weft.block = 1 : i64} : tensor<8x256xf32>
    %562 = weft.matmul %286, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %563 = weft.add %562, %561 {weft.block = 1 : i64} : tensor<8x256xf32>
    %564 = weft.slice %563, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %565 = weft.sigmoid %564 {weft.block = 1 : i64} : tensor<8x64xf32>
    %566 = weft.slice %563, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %567 = weft.sigmoid %566 {weft.block = 1 : i64} : tensor<8x64xf32>
    %568 = weft.slice %563, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %569 = weft.tanh %568 {weft.block = 1 : i64} : tensor<8x64xf32>
    %570 = weft.slice %563, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %571 = weft.sigmoid %570 {weft.block = 1 : i64} : tensor<8x64xf32>
    %572 = weft.mul %565, %569 {weft.block = 1 : i64} : tensor<8x64xf32>
    %573 = weft.mul %567, %556 {weft.block = 1 : i64} : tensor<8x64xf32>
    %574 = weft.add %573, %572 {weft.block = 1 : i64} : tensor<8x64xf32>
    %575 = weft.tanh %574 {weft.block = 1 : i64} : tensor<8x64xf32>
    %576 = weft.mul %571, %575 {weft.block = 1 : i64} : tensor<8x64xf32>
    %577 = weft.matmul %576, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %578 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %579 = weft.add %577, %578 {weft.block = 1 : i64} : tensor<8x256xf32>
    %580 = weft.matmul %304, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %581 = weft.add %580, %579 {weft.block = 1 : i64} : tensor<8x256xf32>
    %582 = weft.slice %581, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %583 = weft.sigmoid %582 {weft.block = 1 : i64} : tensor<8x64xf32>
    %584 = weft.slice %581, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %585 = weft.sigmoid %584 {weft.block = 1 : i64} : tensor<8x64xf32>
    %586 = weft.slice %581, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %587 = weft.tanh %586 {weft.block = 1 : i64} : tensor<8x64xf32>
    %588 = weft.slice %581, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %589 = weft.sigmoid %588 {weft.block = 1 : i64} : tensor<8x64xf32>
    %590 = weft.mul %583, %587 {weft.block = 1 : i64} : tensor<8x64xf32>
    %591 = weft.mul %585, %574 {weft.block = 1 : i64} : tensor<8x64xf32>
    %592 = weft.add %591, %590 {weft.block = 1 : i64} : tensor<8x64xf32>
    %593 = weft.tanh %592 {weft.block = 1 : i64} : tensor<8x64xf32>
    %594 = weft.mul %589, %593 {weft.block = 1 : i64} : tensor<8x64xf32>
    %595 = weft.matmul %594, %arg7 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %596 = weft.broadcast_in_dim %arg8, dims = [1] {weft.block = 1 : i64} : tensor<256xf32> -> tensor<8x256xf32>
    %597 = weft.add %595, %596 {weft.block = 1 : i64} : tensor<8x256xf32>
    %598 = weft.matmul %322, %arg6 {weft.block = 1 : i64} : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
    %599 = weft.add %598, %597 {weft.block = 1 : i64} : tensor<8x256xf32>
    %600 = weft.slice %599, start = [0, 0], limit = [8, 64] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %601 = weft.sigmoid %600 {weft.block = 1 : i64} : tensor<8x64xf32>
    %602 = weft.slice %599, start = [0, 64], limit = [8, 128] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %603 = weft.sigmoid %602 {weft.block = 1 : i64} : tensor<8x64xf32>
    %604 = weft.slice %599, start = [0, 128], limit = [8, 192] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %605 = weft.tanh %604 {weft.block = 1 : i64} : tensor<8x64xf32>
    %606 = weft.slice %599, start = [0, 192], limit = [8, 256] {weft.block = 1 : i64} : tensor<8x256xf32> -> tensor<8x64xf32>
    %607 = weft.sigmoid %606 {weft.block = 1 : i64} : tensor<8x64xf32>
    %608 = weft.mul %601, %605 {weft.block = 1 : i64} : tensor<8x64xf32>
    %609 = weft.mul %603, %592 {weft.block = 1 : i64} : tensor<8x64xf32>
    %610 = weft.add %609, %608 {weft.block = 1 : i64} : tensor<8x64xf32>
    %611 = weft.tanh %610 {weft.block = 1 : i64} : tensor<8x64xf32>
    %612 = weft.mul %607, %611 {weft.block = 1 : i64} : tensor<8x64xf32>
    %613 = weft.reshape %342 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %614 = weft.reshape %360 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %615 = weft.reshape %378 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %616 = weft.reshape %396 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %617 = weft.reshape %414 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %618 = weft.reshape %432 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %619 = weft.reshape %450 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %620 = weft.reshape %468 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %621 = weft.reshape %486 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %622 = weft.reshape %504 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %623 = weft.reshape %522 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %624 = weft.reshape %540 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %625 = weft.reshape %558 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %626 = weft.reshape %576 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %627 = weft.reshape %594 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %628 = weft.reshape %612 : tensor<8x64xf32> -> tensor<8x1x64xf32>
    %629 = weft.concat %613, %614, %615, %616, %617, %618, %619, %620, %621, %622, %623, %624, %625, %626, %627, %628 dim = 1 : (tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>, tensor<8x1x64xf32>) -> tensor<8x16x64xf32>
    %630 = weft.matmul %629, %arg9 : (tensor<8x16x64xf32>, tensor<64x64xf32>) -> tensor<8x16x64xf32>
    %631 = weft.broadcast_in_dim %arg10, dims = [2] : tensor<64xf32> -> tensor<8x16x64xf32>
    %632 = weft.add %630, %631 : tensor<8x16x64xf32>
    %633 = weft.cross_entropy %632, %arg1 : (tensor<8x16x64xf32>, tensor<8x16xi32>) -> tensor<f32>
    return %633, %632 : tensor<f32>, tensor<8x16x64xf32>
  }
}
