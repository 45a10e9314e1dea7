//===- WeftInterfaces.td - interfaces of weft ops ------------------------===//
#ifndef WEFT_INTERFACES_TD
#define WEFT_INTERFACES_TD

include "mlir/IR/OpBase.td"

// What one execution of an op costs, for the cost model and `weftc --stats`.
// Counts are for the global (unpartitioned) shapes; the rules live in
// WeftCost.cpp, one place for the whole table.
def Weft_CostOpInterface : OpInterface<"CostOpInterface"> {
  let cppNamespace = "::mlir::weft";
  let description = [{
    FLOPs (a multiply-add counts 2) and bytes read plus written by one
    execution of the op, as a roofline model needs them.
  }];
  let methods = [
    InterfaceMethod<"Floating-point operations of one execution.",
      "int64_t", "getFlops", (ins)>,
    InterfaceMethod<"Bytes read from and written to memory by one execution.",
      "int64_t", "getBytesAccessed", (ins)>,
  ];
}

#endif // WEFT_INTERFACES_TD
