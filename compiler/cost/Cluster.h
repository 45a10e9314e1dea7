//===- Cluster.h - what the planner plans for: devices, nodes, links ------===//
//
// A cluster spec (`weftc --cluster=NAME|FILE.json`): one kind of device, how
// many sit in a node, and the two link levels between them (inside a node:
// NVLink/NVSwitch; across nodes: InfiniBand). Bandwidths are per device and
// per direction, the number an alpha-beta model wants: a ring all-reduce moves
// 2 (n-1)/n of the buffer through each device's link.
//
// Presets are datasheet numbers; the efficiency factors say what fraction of
// them real kernels reach (a calibration file can replace them: the same JSON).
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_COST_CLUSTER_H
#define WEFT_COMPILER_COST_CLUSTER_H

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::weft {

struct DeviceSpec {
  std::string kind;           // "A100-SXM4-80GB", for the printout
  double memoryBytes = 0;     // per device
  double usableMemory = 0.9;  // the fraction a plan may fill (allocator, runtime, workspace)
  double peakBf16 = 0;        // FLOP/s of the matrix units in bf16 (0: no bf16)
  double peakFp32 = 0;        // FLOP/s in fp32 (vector units; TF32 off)
  double hbmBandwidth = 0;    // bytes/s
  double matmulEfficiency = 1; // fraction of peak a large GEMM / fused attention reaches
  double vectorEfficiency = 1; // fraction of peak elementwise and reduction kernels reach
  double memoryEfficiency = 1; // fraction of the HBM bandwidth streaming kernels reach
  // Measured GEMM throughput (bench/gpu/calibrate): (FLOPs of one GEMM,
  // FLOP/s reached), sorted by FLOPs. Where present it replaces peak x
  // matmul_efficiency for that precision (CostModel's matmulRate).
  std::vector<std::pair<double, double>> gemmBf16, gemmFp32;
  std::string calibration; // where the curves came from ("" for datasheet numbers)
};

struct LinkSpec {
  double bandwidth = 0; // bytes/s per device and direction
  double latency = 0;   // seconds per message (alpha)
};

struct ClusterSpec {
  std::string name;
  DeviceSpec device;
  int64_t devicesPerNode = 1;
  int64_t nodes = 0; // 0: as many nodes as the device count needs
  LinkSpec intraNode, interNode;
  // A cluster file's "calibration": "FILE.json", as written; loadCluster
  // reads it relative to the cluster file and applies it.
  std::string calibrationFile;

  /// The most devices the cluster has (0: unbounded).
  int64_t maxDevices() const { return nodes ? nodes * devicesPerNode : 0; }
};

/// A GPU calibration file written by bench/gpu/calibrate/calibrate.py:
///   {"format": "weft-calibration-1", "device": "...",
///    "gemm": {"bf16": [{"m": .., "n": .., "k": .., "flops": .., "tflops": ..}, ...],
///             "fp32": [...]},
///    "hbm": {"copy_gb_per_s": .., "points": [{"bytes": .., "gb_per_s": ..}, ...]}}
/// (`flops` is one GEMM's 2mnk; `copy_gb_per_s` counts bytes read + written.)
struct Calibration {
  std::string device;
  std::vector<std::pair<double, double>> gemmBf16, gemmFp32; // sorted (FLOPs, FLOP/s)
  double copyBandwidth = 0; // bytes/s
};

/// Parses a calibration; errors are "<line>:<col>: <why>" or "at <path>: <why>"
/// with `root` ("$", or "$.calibration" inside a cluster file) as the path's start.
std::optional<Calibration> parseCalibrationJson(llvm::StringRef text, std::string &error,
                                                const std::string &root = "$");
/// Reads FILE.json; errors name the file and the JSON location.
std::optional<Calibration> loadCalibration(llvm::StringRef path, std::string &error);
/// The measured curves replace the datasheet GEMM peaks (per precision
/// measured), and the measured copy bandwidth the HBM bandwidth x efficiency.
void applyCalibration(ClusterSpec &c, const Calibration &cal, llvm::StringRef source);
/// FLOP/s of a GEMM of `flops` on `curve`: linear in log(FLOPs) between the
/// measured sizes, the nearest point's throughput outside them.
double interpolateGemmRate(const std::vector<std::pair<double, double>> &curve, double flops);

/// A preset by name: h100-sxm-8x, h100-sxm-8x-ib400-<N>nodes, a100-80g-8x,
/// a100-80g-8x-ib200-<N>nodes, cpu-sim-8.
std::optional<ClusterSpec> clusterPreset(llvm::StringRef name);
std::vector<std::string> clusterPresetNames();

/// Parses a cluster spec from JSON text. On failure returns nullopt and sets
/// `error` to "<line>:<col>: <why>" for bad JSON, or "at <json.path>: <why>"
/// for a missing, mistyped, unknown or out-of-range field.
std::optional<ClusterSpec> parseClusterJson(llvm::StringRef text, std::string &error);

/// `spec` is a preset name or a file path. Errors name the file (and the
/// JSON location), or list the presets.
std::optional<ClusterSpec> loadCluster(llvm::StringRef spec, std::string &error);

/// One line: "a100-80g-8x-ib200-4nodes: 4 nodes x 8 A100-SXM4-80GB (80 GB, ...)".
std::string describeCluster(const ClusterSpec &c);

} // namespace mlir::weft

#endif
