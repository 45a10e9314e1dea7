//===- CalibrationTest.cpp - GPU calibration files for the cost model ----===//
//
// A calibration (bench/gpu/calibrate/calibrate.py) replaces the datasheet
// GEMM peak x efficiency by measured curves and the HBM bandwidth by the
// measured copy. Checked against a hand-written file and values worked out
// by hand.
//
//===----------------------------------------------------------------------===//
#include "compiler/cost/Cluster.h"
#include "compiler/cost/CostModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace mlir::weft;

namespace {

// bf16 points deliberately out of order: the loader sorts them by FLOPs.
const char *kCalibration = R"({
  "format": "weft-calibration-1",
  "device": "NVIDIA H100 80GB HBM3",
  "gemm": {
    "bf16": [{"m": 4096, "n": 4096, "k": 4096, "flops": 137438953472, "tflops": 700},
             {"m": 256, "n": 256, "k": 256, "flops": 33554432, "tflops": 50},
             {"m": 1024, "n": 1024, "k": 1024, "flops": 2147483648, "tflops": 400}],
    "fp32": [{"m": 1024, "n": 1024, "k": 1024, "flops": 2147483648, "tflops": 40},
             {"m": 4096, "n": 4096, "k": 4096, "flops": 137438953472, "tflops": 50}]
  },
  "hbm": {"copy_gb_per_s": 2800,
          "points": [{"bytes": 1073741824, "gb_per_s": 2800}]}
})";

std::string parseError(const std::string &text) {
  std::string error;
  EXPECT_FALSE(parseCalibrationJson(text, error));
  return error;
}

std::string replaced(std::string text, const std::string &from, const std::string &to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("weft-calibration-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string &name, const std::string &text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

} // namespace

TEST(Calibration, ParsesAndSortsTheCurves) {
  std::string error;
  auto cal = parseCalibrationJson(kCalibration, error);
  ASSERT_TRUE(cal) << error;
  EXPECT_EQ(cal->device, "NVIDIA H100 80GB HBM3");
  ASSERT_EQ(cal->gemmBf16.size(), 3u);
  EXPECT_DOUBLE_EQ(cal->gemmBf16[0].first, 33554432);
  EXPECT_DOUBLE_EQ(cal->gemmBf16[0].second, 50e12);
  EXPECT_DOUBLE_EQ(cal->gemmBf16[2].second, 700e12);
  ASSERT_EQ(cal->gemmFp32.size(), 2u);
  EXPECT_DOUBLE_EQ(cal->copyBandwidth, 2800e9);
}

TEST(Calibration, InterpolatesInLogFlops) {
  std::vector<std::pair<double, double>> curve = {{1e6, 10}, {1e8, 30}, {1e10, 70}};
  EXPECT_DOUBLE_EQ(interpolateGemmRate(curve, 1e8), 30);        // a measured point
  EXPECT_NEAR(interpolateGemmRate(curve, 1e7), 20, 1e-9);       // halfway in log(FLOPs)
  EXPECT_NEAR(interpolateGemmRate(curve, 1e9), 50, 1e-9);
  EXPECT_NEAR(interpolateGemmRate(curve, std::pow(10, 8.5)), 40, 1e-9);
  EXPECT_DOUBLE_EQ(interpolateGemmRate(curve, 1e3), 10);        // below: the smallest's rate
  EXPECT_DOUBLE_EQ(interpolateGemmRate(curve, 1e14), 70);       // above: the largest's
  EXPECT_DOUBLE_EQ(interpolateGemmRate({}, 1e8), 0);
}

TEST(Calibration, ReplacesTheDatasheetNumbers) {
  ClusterSpec c = *clusterPreset("h100-sxm-8x");
  const double before = opTime(c, true, true, 2147483648.0, 0);
  EXPECT_NEAR(before, 2147483648.0 / (989e12 * 0.65), 1e-15);
  std::string error;
  auto cal = parseCalibrationJson(kCalibration, error);
  ASSERT_TRUE(cal) << error;
  applyCalibration(c, *cal, "h100.json");
  // A 1024^3 GEMM: the measured 400 TFLOP/s, efficiency included.
  EXPECT_NEAR(opTime(c, true, true, 2147483648.0, 0), 2147483648.0 / 400e12, 1e-15);
  // Between 1024^3 and 4096^3 (log-FLOPs halfway: 2048^3): 550 TFLOP/s.
  const double mid = 2.0 * 2048 * 2048 * 2048;
  EXPECT_NEAR(opTime(c, true, true, mid, 0), mid / 550e12, 1e-15);
  // f32 uses the fp32 curve; a GEMM smaller than measured, its smallest rate.
  EXPECT_NEAR(opTime(c, false, true, 1e6, 0), 1e6 / 40e12, 1e-18);
  // Streaming: the measured copy bandwidth, no efficiency factor on top.
  EXPECT_NEAR(opTime(c, true, false, 1, 1e9), 1e9 / 2800e9, 1e-15);
  EXPECT_DOUBLE_EQ(c.device.memoryEfficiency, 1);
  // Vector compute is not calibrated: the datasheet fp32 peak x efficiency.
  EXPECT_NEAR(opTime(c, true, false, 67e12, 0), 1 / 0.5, 1e-12);
  EXPECT_NE(describeCluster(c).find("calibrated (h100.json): bf16 GEMM 50-700 TFLOP/s"),
            std::string::npos)
      << describeCluster(c);
}

TEST(Calibration, OnlyTheMeasuredPrecisionChanges) {
  ClusterSpec c = *clusterPreset("h100-sxm-8x");
  std::string error;
  // An unknown precision is an error, not ignored.
  EXPECT_EQ(parseError(R"({"gemm": {"fp16": []}, "hbm": {"copy_gb_per_s": 1}})"),
            "at $.gemm.fp16: unknown key; expected one of bf16, fp32");
  std::string bf16Only = R"({"gemm": {"bf16": [{"flops": 1e9, "tflops": 100}]}, "hbm": {"copy_gb_per_s": 3000}})";
  auto cal = parseCalibrationJson(bf16Only, error);
  ASSERT_TRUE(cal) << error;
  applyCalibration(c, *cal, "x");
  EXPECT_NEAR(opTime(c, false, true, 1e12, 0), 1e12 / (67e12 * 0.65), 1e-12);
  EXPECT_NEAR(opTime(c, true, true, 1e12, 0), 1e12 / 100e12, 1e-12);
}

TEST(Calibration, ErrorsNameTheJsonLocation) {
  EXPECT_EQ(parseError("{\n  \"gemm\": {\n    \"bf16\" []\n}"), "3:12: Expected : after object key");
  EXPECT_EQ(parseError(replaced(kCalibration, "\"tflops\": 50}", "\"tflops\": -50}")),
            "at $.gemm.bf16[1].tflops: must be positive, got -50.000000");
  EXPECT_EQ(parseError(replaced(kCalibration, "\"flops\": 33554432", "\"flops\": 33554433")),
            "at $.gemm.bf16[1].flops: is not 2 x m x n x k = 33554432.000000");
  EXPECT_EQ(parseError(replaced(kCalibration, "\"tflops\": 400}", "\"tflops\": \"400\"}")),
            "at $.gemm.bf16[2].tflops: expected a number");
  EXPECT_EQ(parseError(replaced(kCalibration, "\"copy_gb_per_s\": 2800", "\"copy_gbps\": 2800")),
            "at $.hbm.copy_gbps: unknown key; expected one of copy_gb_per_s, points");
  EXPECT_EQ(parseError(R"({"gemm": {"bf16": []}, "hbm": {"copy_gb_per_s": 1}})"),
            "at $.gemm.bf16: is empty");
  EXPECT_EQ(parseError(R"({"gemm": {}, "hbm": {"copy_gb_per_s": 1}})"),
            "at $.gemm: needs \"bf16\" or \"fp32\" (or both)");
  EXPECT_EQ(parseError(R"({"gemm": {"fp32": [{"flops": 1, "tflops": 1}]}})"),
            "at $.hbm: missing (required)");
  EXPECT_EQ(parseError(R"({"smoke": true, "gemm": {"fp32": [{"flops": 1, "tflops": 1}]},
                           "hbm": {"copy_gb_per_s": 1}})"),
            "at $.smoke: this file is from calibrate.py --smoke (a CPU check of the script), not a "
            "GPU measurement");
  EXPECT_EQ(parseError(R"({"gemm": {"fp32": [{"flops": 2, "tflops": 1}, {"flops": 2, "tflops": 3}]},
                           "hbm": {"copy_gb_per_s": 1}})"),
            "at $.gemm.fp32[1].flops: repeats an earlier measurement's size");
  EXPECT_EQ(parseError(R"({"format": "v2", "gemm": {}, "hbm": {}})"),
            "at $.format: expected \"weft-calibration-1\"");
}

TEST(Calibration, FilesAndClusterFiles) {
  TempDir dir;
  std::string error;
  // --calibration=FILE: errors name the file and the location in it.
  EXPECT_FALSE(loadCalibration(dir.write("bad.json", replaced(kCalibration, "\"tflops\": 50}", "\"tflops\": 0}")), error));
  EXPECT_EQ(error, (dir.path / "bad.json").string() + ": at $.gemm.bf16[1].tflops: must be positive, got 0.000000");
  EXPECT_FALSE(loadCalibration((dir.path / "none.json").string(), error));
  EXPECT_NE(error.find("none.json: cannot read the calibration file"), std::string::npos);
  ASSERT_TRUE(loadCalibration(dir.write("h100.json", kCalibration), error)) << error;

  // A cluster file's "calibration": a file next to it, or inline.
  const std::string cluster = R"({"name": "lab", "devices_per_node": 8, "nodes": 1,
    "device": {"memory_gib": 80, "peak_tflops_bf16": 989, "peak_tflops_fp32": 67,
               "hbm_gb_per_s": 3350, "matmul_efficiency": 0.65},
    "links": {"intra_node": {"gb_per_s": 450, "latency_us": 3}},
    "calibration": CAL})";
  auto c = loadCluster(dir.write("lab.json", replaced(cluster, "CAL", "\"h100.json\"")), error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->device.gemmBf16.size(), 3u);
  EXPECT_DOUBLE_EQ(c->device.hbmBandwidth, 2800e9);
  EXPECT_EQ(c->device.calibration, (dir.path / "h100.json").string());
  c = loadCluster(dir.write("inline.json", replaced(cluster, "CAL", kCalibration)), error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->device.gemmFp32.size(), 2u);
  EXPECT_FALSE(loadCluster(dir.write("badinline.json",
                                     replaced(cluster, "CAL", replaced(kCalibration, "\"tflops\": 50}", "\"tflops\": -1}"))),
                           error));
  EXPECT_EQ(error, (dir.path / "badinline.json").string() +
                       ": at $.calibration.gemm.bf16[1].tflops: must be positive, got -1.000000");
  EXPECT_FALSE(loadCluster(dir.write("badref.json", replaced(cluster, "CAL", "\"bad.json\"")), error));
  EXPECT_EQ(error, (dir.path / "badref.json").string() + ": at $.calibration: " +
                       (dir.path / "bad.json").string() +
                       ": at $.gemm.bf16[1].tflops: must be positive, got 0.000000");
  EXPECT_FALSE(loadCluster(dir.write("badtype.json", replaced(cluster, "CAL", "3")), error));
  EXPECT_EQ(error, (dir.path / "badtype.json").string() +
                       ": at $.calibration: expected a file name (a string) or a calibration object");
}
