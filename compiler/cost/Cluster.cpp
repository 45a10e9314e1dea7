//===- Cluster.cpp -------------------------------------------------------===//
#include "compiler/cost/Cluster.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <functional>

using namespace mlir;
using namespace mlir::weft;

static constexpr double GiB = 1024.0 * 1024 * 1024;

// One node of 8 GPUs on NVSwitch with one InfiniBand adapter per GPU.
static ClusterSpec gpuNode(const char *name, DeviceSpec device, LinkSpec nvlink, LinkSpec ib) {
  ClusterSpec c;
  c.name = name;
  c.device = std::move(device);
  c.devicesPerNode = 8;
  c.nodes = 1;
  c.intraNode = nvlink;
  c.interNode = ib;
  return c;
}

// DGX A100 (80 GB): A100-SXM4 datasheet: 312 TFLOP/s bf16 (dense), 19.5
// fp32, 2039 GB/s HBM2e; NVLink 3 through NVSwitch, 600 GB/s both ways;
// one 200 Gb/s HDR InfiniBand adapter per GPU (Selene, Megatron-LM 2021).
// A large bf16 GEMM reaches ~80% of peak on A100; a whole layer, with its
// smaller tensor-parallel GEMMs, less: 0.7.
static ClusterSpec a100Node() {
  return gpuNode("a100-80g-8x",
                 {"A100-SXM4-80GB", 80 * GiB, 0.9, 312e12, 19.5e12, 2039e9, 0.7, 0.5, 0.8},
                 {300e9, 5e-6}, {25e9, 10e-6});
}

// DGX H100: H100-SXM5 datasheet: 989 TFLOP/s bf16 (dense), 67 fp32, 3350
// GB/s HBM3; NVLink 4, 900 GB/s both ways; 400 Gb/s NDR per GPU.
static ClusterSpec h100Node() {
  return gpuNode("h100-sxm-8x",
                 {"H100-SXM5-80GB", 80 * GiB, 0.9, 989e12, 67e12, 3350e9, 0.65, 0.5, 0.8},
                 {450e9, 3e-6}, {50e9, 8e-6});
}

static ClusterSpec cpuSim() {
  // The CPU backend's simulated devices: 8 ranks as threads of one process
  // on a small machine. Orders of magnitude, so that the planner's choice
  // for the examples is the one that runs here (f32 only).
  ClusterSpec c;
  c.name = "cpu-sim-8";
  c.device = {"cpu-thread", 4 * GiB, 0.9, 0, 50e9, 10e9, 0.5, 0.5, 0.8};
  c.devicesPerNode = 8;
  c.nodes = 1;
  c.intraNode = {5e9, 5e-6};
  c.interNode = {1e9, 50e-6};
  return c;
}

// "<base>-ib<gbit>-<N>nodes" -> N nodes of the base preset.
static std::optional<ClusterSpec> multiNode(llvm::StringRef name, llvm::StringRef base,
                                            llvm::StringRef ib, ClusterSpec node) {
  llvm::StringRef rest = name;
  if (!rest.consume_front(base) || !rest.consume_front(ib) || !rest.consume_front("-") ||
      !rest.consume_back("nodes"))
    return std::nullopt;
  int64_t n;
  if (rest.getAsInteger(10, n) || n < 1)
    return std::nullopt;
  node.name = name.str();
  node.nodes = n;
  return node;
}

std::optional<ClusterSpec> mlir::weft::clusterPreset(llvm::StringRef name) {
  if (name == "a100-80g-8x")
    return a100Node();
  if (name == "h100-sxm-8x")
    return h100Node();
  if (name == "cpu-sim-8")
    return cpuSim();
  if (auto c = multiNode(name, "a100-80g-8x", "-ib200", a100Node()))
    return c;
  if (auto c = multiNode(name, "h100-sxm-8x", "-ib400", h100Node()))
    return c;
  return std::nullopt;
}

std::vector<std::string> mlir::weft::clusterPresetNames() {
  return {"h100-sxm-8x", "h100-sxm-8x-ib400-<N>nodes", "a100-80g-8x",
          "a100-80g-8x-ib200-<N>nodes", "cpu-sim-8"};
}

//===----------------------------------------------------------------------===//
// JSON. Written by hand over llvm::json rather than with json::ObjectMapper:
// the mapper stops at the first problem without naming unknown keys, and a
// typo in a cluster file ("memroy_gib") must not silently keep a default.
//===----------------------------------------------------------------------===//

namespace {
struct Reader {
  std::string error;

  bool fail(const std::string &path, const std::string &why) {
    if (error.empty())
      error = "at " + path + ": " + why;
    return false;
  }

  // Visits `obj`'s keys: each must be in `known`; `required` ones must exist.
  bool keys(const llvm::json::Object &obj, const std::string &path,
            std::initializer_list<const char *> known,
            std::initializer_list<const char *> required) {
    for (const auto &kv : obj) {
      bool ok = false;
      for (const char *k : known)
        ok |= kv.first == k;
      if (!ok) {
        std::string list;
        for (const char *k : known)
          list += std::string(list.empty() ? "" : ", ") + k;
        return fail(path + "." + kv.first.str(), "unknown key; expected one of " + list);
      }
    }
    for (const char *k : required)
      if (!obj.get(k))
        return fail(path + "." + k, "missing (required)");
    return true;
  }

  // A number > 0 (or >= 0 with allowZero, or in (0, 1] with fraction).
  bool number(const llvm::json::Object &obj, const std::string &path, const char *key,
              double &out, double scale, bool fraction = false, bool allowZero = false) {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return true; // optional: keeps the default
    std::optional<double> d = v->getAsNumber();
    std::string where = path + "." + key;
    if (!d)
      return fail(where, "expected a number");
    if (*d < 0 || (*d == 0 && !allowZero))
      return fail(where, "must be positive, got " + std::to_string(*d));
    if (fraction && *d > 1)
      return fail(where, "is a fraction, expected a value in (0, 1], got " + std::to_string(*d));
    out = *d * scale;
    return true;
  }

  bool integer(const llvm::json::Object &obj, const std::string &path, const char *key,
               int64_t &out, bool allowZero) {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return true;
    std::optional<int64_t> i = v->getAsInteger();
    std::string where = path + "." + key;
    if (!i)
      return fail(where, "expected an integer");
    if (*i < 0 || (*i == 0 && !allowZero))
      return fail(where, "must be positive, got " + std::to_string(*i));
    out = *i;
    return true;
  }

  const llvm::json::Object *object(const llvm::json::Object &obj, const std::string &path,
                                   const char *key) {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return nullptr;
    const llvm::json::Object *o = v->getAsObject();
    if (!o)
      fail(path + "." + key, "expected an object");
    return o;
  }

  bool link(const llvm::json::Object &links, const char *key, LinkSpec &out) {
    std::string path = std::string("$.links.") + key;
    const llvm::json::Object *o = object(links, "$.links", key);
    if (!o)
      return error.empty() ? fail(path, "missing (required)") : false;
    return keys(*o, path, {"gb_per_s", "latency_us"}, {"gb_per_s"}) &&
           number(*o, path, "gb_per_s", out.bandwidth, 1e9) &&
           number(*o, path, "latency_us", out.latency, 1e-6, false, true);
  }
};
} // namespace

// llvm::json says "[3:14, byte=40]: Expected , or }"; make it "3:14: ...".
static std::optional<llvm::json::Value> parseJsonText(llvm::StringRef text, std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (parsed)
    return std::move(*parsed);
  std::string msg = llvm::toString(parsed.takeError());
  if (msg.size() > 1 && msg[0] == '[') {
    size_t comma = msg.find(','), close = msg.find("]: ");
    if (comma != std::string::npos && close != std::string::npos)
      msg = msg.substr(1, comma - 1) + ": " + msg.substr(close + 3);
  }
  error = msg;
  return std::nullopt;
}

// "file.json:3:14: ..." for a syntax error, "file.json: at $.device...".
static std::string locatedError(llvm::StringRef file, const std::string &why) {
  bool located = !why.empty() && std::isdigit(static_cast<unsigned char>(why[0]));
  return file.str() + (located ? ":" : ": ") + why;
}

static bool parseCalibrationObject(const llvm::json::Object &root, const std::string &at,
                                   Reader &r, Calibration &cal);

std::optional<ClusterSpec> mlir::weft::parseClusterJson(llvm::StringRef text,
                                                        std::string &error) {
  std::optional<llvm::json::Value> parsed = parseJsonText(text, error);
  if (!parsed)
    return std::nullopt;
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "at $: expected an object";
    return std::nullopt;
  }
  Reader r;
  ClusterSpec c;
  c.device = {};
  c.device.peakBf16 = 0;
  auto done = [&]() -> std::optional<ClusterSpec> {
    error = r.error;
    return std::nullopt;
  };
  if (!r.keys(*root, "$", {"name", "devices_per_node", "nodes", "device", "links", "calibration"},
              {"devices_per_node", "device", "links"}))
    return done();
  if (const llvm::json::Value *n = root->get("name")) {
    if (!n->getAsString()) {
      r.fail("$.name", "expected a string");
      return done();
    }
    c.name = n->getAsString()->str();
  } else {
    c.name = "custom";
  }
  if (!r.integer(*root, "$", "devices_per_node", c.devicesPerNode, false) ||
      !r.integer(*root, "$", "nodes", c.nodes, true))
    return done();

  const llvm::json::Object *dev = r.object(*root, "$", "device");
  if (!dev)
    return done();
  const char *devPath = "$.device";
  DeviceSpec &d = c.device;
  if (!r.keys(*dev, devPath,
              {"kind", "memory_gib", "usable_memory_fraction", "peak_tflops_bf16",
               "peak_tflops_fp32", "hbm_gb_per_s", "matmul_efficiency", "vector_efficiency",
               "memory_efficiency"},
              {"memory_gib", "peak_tflops_fp32", "hbm_gb_per_s"}))
    return done();
  d.kind = "device";
  if (const llvm::json::Value *k = dev->get("kind")) {
    if (!k->getAsString()) {
      r.fail("$.device.kind", "expected a string");
      return done();
    }
    d.kind = k->getAsString()->str();
  }
  if (!r.number(*dev, devPath, "memory_gib", d.memoryBytes, GiB) ||
      !r.number(*dev, devPath, "usable_memory_fraction", d.usableMemory, 1, true) ||
      !r.number(*dev, devPath, "peak_tflops_bf16", d.peakBf16, 1e12, false, true) ||
      !r.number(*dev, devPath, "peak_tflops_fp32", d.peakFp32, 1e12) ||
      !r.number(*dev, devPath, "hbm_gb_per_s", d.hbmBandwidth, 1e9) ||
      !r.number(*dev, devPath, "matmul_efficiency", d.matmulEfficiency, 1, true) ||
      !r.number(*dev, devPath, "vector_efficiency", d.vectorEfficiency, 1, true) ||
      !r.number(*dev, devPath, "memory_efficiency", d.memoryEfficiency, 1, true))
    return done();

  const llvm::json::Object *links = r.object(*root, "$", "links");
  if (!links)
    return done();
  if (!r.keys(*links, "$.links", {"intra_node", "inter_node"}, {"intra_node"}) ||
      !r.link(*links, "intra_node", c.intraNode))
    return done();
  if (links->get("inter_node")) {
    if (!r.link(*links, "inter_node", c.interNode))
      return done();
  } else if (c.nodes != 1) {
    r.fail("$.links.inter_node", "missing: needed unless \"nodes\" is 1");
    return done();
  } else {
    c.interNode = c.intraNode; // never used with one node
  }
  // "calibration": a file (read by loadCluster, relative to this one) or the
  // calibration itself.
  if (const llvm::json::Value *cal = root->get("calibration")) {
    if (std::optional<llvm::StringRef> file = cal->getAsString()) {
      c.calibrationFile = file->str();
    } else if (const llvm::json::Object *inline_ = cal->getAsObject()) {
      Calibration parsedCal;
      if (!parseCalibrationObject(*inline_, "$.calibration", r, parsedCal))
        return done();
      applyCalibration(c, parsedCal, "inline");
    } else {
      r.fail("$.calibration", "expected a file name (a string) or a calibration object");
      return done();
    }
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Calibration (bench/gpu/calibrate): measured GEMM and copy curves.
//===----------------------------------------------------------------------===//

static bool parseCalibrationObject(const llvm::json::Object &root, const std::string &at,
                                   Reader &r, Calibration &cal) {
  if (!r.keys(root, at, {"format", "device", "torch", "cuda", "smoke", "notes", "gemm", "hbm"},
              {"gemm", "hbm"}))
    return false;
  if (const llvm::json::Value *f = root.get("format"))
    if (f->getAsString() != std::optional<llvm::StringRef>("weft-calibration-1"))
      return r.fail(at + ".format", "expected \"weft-calibration-1\"");
  if (const llvm::json::Value *d = root.get("device")) {
    if (!d->getAsString())
      return r.fail(at + ".device", "expected a string");
    cal.device = d->getAsString()->str();
  }
  const llvm::json::Object *gemm = r.object(root, at, "gemm");
  if (!gemm)
    return false;
  const std::string gemmAt = at + ".gemm";
  if (!r.keys(*gemm, gemmAt, {"bf16", "fp32"}, {}))
    return false;
  if (gemm->empty())
    return r.fail(gemmAt, "needs \"bf16\" or \"fp32\" (or both)");
  for (auto [key, curve] : {std::pair{"bf16", &cal.gemmBf16}, {"fp32", &cal.gemmFp32}}) {
    const llvm::json::Value *v = gemm->get(key);
    if (!v)
      continue;
    const std::string listAt = gemmAt + "." + key;
    const llvm::json::Array *points = v->getAsArray();
    if (!points)
      return r.fail(listAt, "expected an array of measurements");
    if (points->empty())
      return r.fail(listAt, "is empty");
    for (size_t i = 0; i < points->size(); ++i) {
      const std::string pointAt = listAt + "[" + std::to_string(i) + "]";
      const llvm::json::Object *pt = (*points)[i].getAsObject();
      if (!pt)
        return r.fail(pointAt, "expected an object");
      double m = 0, n = 0, k = 0, flops = 0, tflops = 0;
      if (!r.keys(*pt, pointAt, {"m", "n", "k", "flops", "tflops", "seconds"}, {"flops", "tflops"}) ||
          !r.number(*pt, pointAt, "m", m, 1) || !r.number(*pt, pointAt, "n", n, 1) ||
          !r.number(*pt, pointAt, "k", k, 1) || !r.number(*pt, pointAt, "flops", flops, 1) ||
          !r.number(*pt, pointAt, "tflops", tflops, 1e12))
        return false;
      // When the shape is given, the FLOPs must be its 2mnk (exact: integers
      // well inside a double's 53 bits): a mistyped row would otherwise bend
      // the curve silently.
      if (m > 0 && n > 0 && k > 0 && 2 * m * n * k != flops)
        return r.fail(pointAt + ".flops", "is not 2 x m x n x k = " + std::to_string(2 * m * n * k));
      for (const auto &[f, rate] : *curve)
        if (f == flops)
          return r.fail(pointAt + ".flops", "repeats an earlier measurement's size");
      curve->push_back({flops, tflops});
    }
    std::sort(curve->begin(), curve->end());
  }
  const llvm::json::Object *hbm = r.object(root, at, "hbm");
  if (!hbm)
    return false;
  const std::string hbmAt = at + ".hbm";
  if (!r.keys(*hbm, hbmAt, {"copy_gb_per_s", "points"}, {"copy_gb_per_s"}) ||
      !r.number(*hbm, hbmAt, "copy_gb_per_s", cal.copyBandwidth, 1e9))
    return false;
  if (const llvm::json::Value *pts = hbm->get("points")) {
    const llvm::json::Array *points = pts->getAsArray();
    if (!points)
      return r.fail(hbmAt + ".points", "expected an array");
    for (size_t i = 0; i < points->size(); ++i) {
      const std::string pointAt = hbmAt + ".points[" + std::to_string(i) + "]";
      const llvm::json::Object *pt = (*points)[i].getAsObject();
      double bytes = 0, rate = 0;
      if (!pt)
        return r.fail(pointAt, "expected an object");
      if (!r.keys(*pt, pointAt, {"bytes", "gb_per_s", "seconds"}, {"bytes", "gb_per_s"}) ||
          !r.number(*pt, pointAt, "bytes", bytes, 1) || !r.number(*pt, pointAt, "gb_per_s", rate, 1e9))
        return false;
    }
  }
  // A --smoke run checks the script on a CPU: its layout is checked above in
  // full, but its numbers are not a GPU's.
  if (const llvm::json::Value *smoke = root.get("smoke")) {
    if (!smoke->getAsBoolean())
      return r.fail(at + ".smoke", "expected true or false");
    if (*smoke->getAsBoolean())
      return r.fail(at + ".smoke", "this file is from calibrate.py --smoke (a CPU check of the "
                                   "script), not a GPU measurement");
  }
  return true;
}

std::optional<Calibration> mlir::weft::parseCalibrationJson(llvm::StringRef text, std::string &error,
                                                            const std::string &root) {
  std::optional<llvm::json::Value> parsed = parseJsonText(text, error);
  if (!parsed)
    return std::nullopt;
  Reader r;
  Calibration cal;
  const llvm::json::Object *obj = parsed->getAsObject();
  if (!obj) {
    error = "at " + root + ": expected an object";
    return std::nullopt;
  }
  if (!parseCalibrationObject(*obj, root, r, cal)) {
    error = r.error;
    return std::nullopt;
  }
  return cal;
}

std::optional<Calibration> mlir::weft::loadCalibration(llvm::StringRef path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = path.str() + ": cannot read the calibration file: " + buffer.getError().message();
    return std::nullopt;
  }
  std::string why;
  auto cal = parseCalibrationJson((*buffer)->getBuffer(), why);
  if (!cal)
    error = locatedError(path, why);
  return cal;
}

void mlir::weft::applyCalibration(ClusterSpec &c, const Calibration &cal, llvm::StringRef source) {
  DeviceSpec &d = c.device;
  if (!cal.gemmBf16.empty())
    d.gemmBf16 = cal.gemmBf16;
  if (!cal.gemmFp32.empty())
    d.gemmFp32 = cal.gemmFp32;
  // The copy's bytes are what streaming kernels reach: it replaces the
  // datasheet bandwidth and its efficiency factor.
  d.hbmBandwidth = cal.copyBandwidth;
  d.memoryEfficiency = 1;
  d.calibration = source.str();
}

double mlir::weft::interpolateGemmRate(const std::vector<std::pair<double, double>> &curve,
                                       double flops) {
  if (curve.empty())
    return 0;
  if (flops <= curve.front().first)
    return curve.front().second;
  if (flops >= curve.back().first)
    return curve.back().second;
  auto hi = std::upper_bound(curve.begin(), curve.end(), std::make_pair(flops, 0.0),
                             [](const auto &a, const auto &b) { return a.first < b.first; });
  auto lo = hi - 1;
  const double t = (std::log(flops) - std::log(lo->first)) / (std::log(hi->first) - std::log(lo->first));
  return lo->second + t * (hi->second - lo->second);
}

std::optional<ClusterSpec> mlir::weft::loadCluster(llvm::StringRef spec, std::string &error) {
  if (auto preset = clusterPreset(spec))
    return preset;
  if (!spec.ends_with(".json")) {
    error = "--cluster=" + spec.str() + ": not a preset or a .json file; the presets are";
    for (const std::string &n : clusterPresetNames())
      error += " " + n;
    return std::nullopt;
  }
  auto buffer = llvm::MemoryBuffer::getFile(spec);
  if (!buffer) {
    error = "--cluster=" + spec.str() + ": cannot read the file: " + buffer.getError().message();
    return std::nullopt;
  }
  std::string why;
  auto c = parseClusterJson((*buffer)->getBuffer(), why);
  if (!c) {
    error = locatedError(spec, why);
    return c;
  }
  if (!c->calibrationFile.empty()) {
    llvm::SmallString<256> path(c->calibrationFile);
    if (llvm::sys::path::is_relative(path)) {
      path = llvm::sys::path::parent_path(spec);
      llvm::sys::path::append(path, c->calibrationFile);
    }
    std::optional<Calibration> cal = loadCalibration(path, why);
    if (!cal) {
      error = spec.str() + ": at $.calibration: " + why;
      return std::nullopt;
    }
    applyCalibration(*c, *cal, path);
  }
  return c;
}

std::string mlir::weft::describeCluster(const ClusterSpec &c) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << c.name << ": ";
  if (c.nodes)
    os << c.nodes << (c.nodes == 1 ? " node" : " nodes");
  else
    os << "nodes as needed";
  os << " x " << c.devicesPerNode << " " << c.device.kind
     << llvm::format(" (%.0f GiB, ", c.device.memoryBytes / GiB);
  if (c.device.peakBf16 > 0)
    os << llvm::format("%.0f TFLOP/s bf16, ", c.device.peakBf16 / 1e12);
  os << llvm::format("%.1f TFLOP/s fp32, %.0f GB/s HBM); links %.0f GB/s in a node",
                     c.device.peakFp32 / 1e12, c.device.hbmBandwidth / 1e9,
                     c.intraNode.bandwidth / 1e9);
  if (c.nodes != 1)
    os << llvm::format(", %.0f GB/s across nodes", c.interNode.bandwidth / 1e9);
  if (!c.device.calibration.empty()) {
    os << "; calibrated (" << c.device.calibration << "):";
    if (!c.device.gemmBf16.empty())
      os << llvm::format(" bf16 GEMM %.0f-%.0f TFLOP/s,", c.device.gemmBf16.front().second / 1e12,
                         c.device.gemmBf16.back().second / 1e12);
    if (!c.device.gemmFp32.empty())
      os << llvm::format(" fp32 GEMM %.1f-%.1f TFLOP/s,", c.device.gemmFp32.front().second / 1e12,
                         c.device.gemmFp32.back().second / 1e12);
    os << llvm::format(" copy %.0f GB/s", c.device.hbmBandwidth / 1e9);
  }
  return s;
}
