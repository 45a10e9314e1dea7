//===- Cluster.cpp -------------------------------------------------------===//
#include "compiler/cost/Cluster.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

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

std::optional<ClusterSpec> mlir::weft::parseClusterJson(llvm::StringRef text,
                                                        std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed) {
    // llvm::json says "[3:14, byte=40]: Expected , or }"; make it "3:14: ...".
    std::string msg = llvm::toString(parsed.takeError());
    if (msg.size() > 1 && msg[0] == '[') {
      size_t comma = msg.find(','), close = msg.find("]: ");
      if (comma != std::string::npos && close != std::string::npos)
        msg = msg.substr(1, comma - 1) + ": " + msg.substr(close + 3);
    }
    error = msg;
    return std::nullopt;
  }
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
  if (!r.keys(*root, "$", {"name", "devices_per_node", "nodes", "device", "links"},
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
  return c;
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
    // "file.json:3:14: ..." for a syntax error, "file.json: at $.device...".
    bool located = !why.empty() && std::isdigit(static_cast<unsigned char>(why[0]));
    error = spec.str() + (located ? ":" : ": ") + why;
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
  return s;
}
