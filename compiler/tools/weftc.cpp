//===- weftc.cpp - the Weft compiler driver ------------------------------===//
//
//   weftc model.mlir --stats            parse, verify, summarise
//   weftc --generate=gpt --layers=12 ... print a generated model
//
// Flags of later phases (training, meshes, targets, planning) are declared
// now, so that scripts can be written against the final CLI; each answers
// with a clear "not implemented yet" until its phase lands.
//
//===----------------------------------------------------------------------===//
#include "compiler/cost/ModelStats.h"
#include "compiler/pipeline/StageSchedule.h"
#include "compiler/planner/PlanCommand.h"
#include "compiler/analysis/ShardingAnalysis.h"
#include "compiler/artifact/ArtifactWriter.h"
#include "compiler/pipelines/Pipelines.h"
#include "passes/Passes.h"
#include "compiler/pipelines/Registration.h"
#include "mlir/Pass/PassManager.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "frontends/models/Generators.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include <unistd.h>
#include "mlir/Support/FileUtilities.h"

#include <cmath>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("weftc options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::init("-"), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init(""),
                                       cl::cat(category));
static cl::opt<bool> json("json", cl::desc("Print --stats as JSON"),
                          cl::cat(category));

// Generators.
static cl::opt<std::string>
    generate("generate", cl::desc("Print a generated model: mlp, lstm, bert or gpt"),
             cl::value_desc("kind"), cl::cat(category));
static mlir::weft::ModelSpec defaults;
static cl::opt<int64_t> layers("layers", cl::desc("Blocks / LSTM layers / hidden layers"),
                               cl::init(defaults.layers), cl::cat(category));
static cl::opt<int64_t> hidden("hidden", cl::desc("Model width"),
                               cl::init(defaults.hidden), cl::cat(category));
static cl::opt<int64_t> heads("heads", cl::desc("Attention heads"),
                              cl::init(defaults.heads), cl::cat(category));
static cl::opt<int64_t> vocab("vocab", cl::desc("Vocabulary size"),
                              cl::init(defaults.vocab), cl::cat(category));
static cl::opt<int64_t> seq("seq", cl::desc("Sequence length (LSTM: time steps)"),
                            cl::init(defaults.seq), cl::cat(category));
static cl::opt<int64_t> batch("batch", cl::desc("Batch size"),
                              cl::init(defaults.batch), cl::cat(category));
static cl::opt<int64_t> ffn("ffn", cl::desc("Transformer MLP width (0: 4 x hidden)"),
                            cl::init(defaults.ffn), cl::cat(category));
static cl::opt<int64_t> features("features", cl::desc("MLP input features"),
                                 cl::init(defaults.features), cl::cat(category));
static cl::opt<int64_t> classes("classes", cl::desc("MLP output classes"),
                                cl::init(defaults.classes), cl::cat(category));

// Parallelism.
static cl::OptionCategory meshCategory("weftc parallelism options");
static cl::opt<std::string> mesh("mesh",
                                 cl::desc("Device mesh: dp=4 (data parallel over 4 devices), tp=2 "
                                          "(tensor parallel: Megatron attention and MLP blocks), or "
                                          "both, dp=2,tp=2 (tp the inner axis); pp=P pipelines the "
                                          "layers over P ranks (training; with --microbatches, "
                                          "--schedule, --virtual-stages, --stages)"),
                                 cl::value_desc("axes"), cl::cat(meshCategory));

static cl::opt<std::string> tpStyle("tp-style",
                                    cl::desc("How --mesh=tp=N splits the model: megatron (the "
                                             "default: attention by heads and MLP blocks, column then row)"),
                                    cl::init("megatron"), cl::cat(meshCategory));

static cl::opt<std::string> explain(
    "explain",
    cl::desc("Print how --mesh splits @forward instead of compiling: each op's result sharding "
             "per mesh axis and why (--explain=json for JSON)"),
    cl::value_desc("text|json"), cl::ValueOptional, cl::cat(meshCategory));

// Parses "dp=2" or "tp=2" into the axis sizes; sp is refused, pp is only
// planned (--stats) for now.
struct MeshSpec {
  int64_t dp = 1, tp = 1, pp = 1;
};
static FailureOr<MeshSpec> parseMesh(llvm::StringRef spec, std::string &error) {
  MeshSpec mesh;
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ',', -1, false);
  llvm::StringSet<> seen;
  for (llvm::StringRef part : parts) {
    auto [axis, value] = part.split('=');
    if (!seen.insert(axis.trim()).second) {
      error = ("--mesh: axis '" + axis.trim() + "' is given twice").str();
      return failure();
    }
    int64_t size;
    if (value.getAsInteger(10, size) || size < 1) {
      error = ("--mesh: '" + part + "' is not axis=size with a positive size").str();
      return failure();
    }
    axis = axis.trim();
    if (axis == "dp") {
      mesh.dp = size;
    } else if (axis == "tp") {
      mesh.tp = size;
    } else if (axis == "pp") {
      mesh.pp = size;
    } else if (axis == "sp") {
      if (size > 1) {
        error = ("--mesh: the " + axis + " axis is not implemented yet (sequence parallelism is "
                 "still to come); dp and tp work today").str();
        return failure();
      }
    } else {
      error = ("--mesh: unknown axis '" + axis + "'; expected dp, tp, pp or sp").str();
      return failure();
    }
  }
  return mesh;
}

// Pipelines (--mesh=...,pp=P): compiled with --train, planned with --stats.
static cl::opt<int64_t> microbatches("microbatches",
                                     cl::desc("Pipeline microbatches per batch (default 1); must "
                                              "divide the batch"),
                                     cl::init(1), cl::cat(meshCategory));
static cl::opt<std::string> schedule("schedule",
                                     cl::desc("Pipeline schedule: gpipe, 1f1b (the default) or "
                                              "interleaved (the default with --virtual-stages)"),
                                     cl::init(""), cl::cat(meshCategory));
static cl::opt<std::string> stages("stages",
                                   cl::desc("Manual pipeline stages as inclusive weft.block "
                                            "ranges, e.g. 0-3,4-7 (default: balanced by cost)"),
                                   cl::cat(meshCategory));
static cl::opt<int64_t> virtualStages("virtual-stages",
                                      cl::desc("Model chunks per pipeline rank (interleaved)"),
                                      cl::init(1), cl::cat(meshCategory));

// The planner (issue 8, compiler/planner/): weftc model.mlir --train=adamw
// --devices=N --plan=auto [--cluster=...] [--plan-only | --explain[=json]].
static cl::opt<std::string> plan("plan", cl::desc("Placement planning: auto (with --devices)"),
                                 cl::value_desc("auto"), cl::cat(meshCategory));
static cl::opt<int64_t> devices("devices", cl::desc("Devices for --plan=auto"), cl::init(0),
                                cl::cat(meshCategory));
static cl::opt<std::string> cluster("cluster",
                                    cl::desc("Cluster for --plan=auto: a preset (cpu-sim-8, "
                                             "a100-80g-8x, a100-80g-8x-ib200-<N>nodes, "
                                             "h100-sxm-8x, h100-sxm-8x-ib400-<N>nodes) or FILE.json"),
                                    cl::value_desc("name|file"), cl::cat(meshCategory));
static cl::opt<std::string> calibration("calibration",
                                        cl::desc("GPU calibration for --plan=auto (written by "
                                                 "bench/gpu/calibrate): measured GEMM and copy "
                                                 "curves replace the cluster's datasheet numbers"),
                                        cl::value_desc("FILE.json"), cl::cat(meshCategory));
static cl::opt<bool> planOnly("plan-only", cl::desc("Print the --plan=auto plan; compile nothing"),
                              cl::cat(meshCategory));
static cl::opt<std::string> planPrecision("plan-precision",
                                          cl::desc("Precision the planner costs: auto (bf16 where "
                                                   "the cluster has it), bf16 or f32 (default: "
                                                   "--precision where given, else auto)"),
                                          cl::init("auto"), cl::cat(meshCategory));

// The pipeline stage plan of --mesh=...,pp=P: the cut, then the schedule
// simulated with the stages' costs. Fails at the model's location.
struct PipelinePlanView {
  weft::StagePlan plan;
  weft::PipelineEstimate estimate;
};
static FailureOr<PipelinePlanView> planPipeline(func::FuncOp forward, int64_t pp, int64_t dp) {
  if (virtualStages < 1)
    return forward.emitError() << "--virtual-stages must be at least 1, got " << virtualStages;
  if (failed(weft::checkMicrobatches(forward, microbatches)))
    return failure();
  FailureOr<weft::StagePlan> plan = weft::cutStages(forward, pp * virtualStages, stages);
  if (failed(plan))
    return failure();
  std::string kind = !schedule.empty() ? schedule.getValue()
                                       : virtualStages > 1 ? "interleaved" : "1f1b";
  FailureOr<weft::PipelineEstimate> estimate =
      weft::simulateStagePlan(forward, *plan, pp, virtualStages, microbatches, kind,
                              1.0 / static_cast<double>(dp * microbatches));
  if (failed(estimate))
    return failure();
  return PipelinePlanView{*plan, *estimate};
}

// --stats --json with pp: the same plan for scripts.
static llvm::json::Value pipelinePlanJson(const PipelinePlanView &v, int64_t pp) {
  llvm::json::Array stageList;
  for (auto [s, st] : llvm::enumerate(v.plan.stages))
    stageList.push_back(llvm::json::Object{{"stage", static_cast<int64_t>(s)},
                                           {"rank", static_cast<int64_t>(s) % pp},
                                           {"first_block", st.firstBlock},
                                           {"last_block", st.lastBlock},
                                           {"ops", static_cast<int64_t>(st.ops.size())},
                                           {"flops", st.flops},
                                           {"bytes", st.bytes},
                                           {"parameter_bytes", st.paramBytes},
                                           {"send_bytes", st.sendBytes},
                                           {"time_s", st.time}});
  llvm::json::Array peaks;
  for (int p : v.estimate.peakActivations)
    peaks.push_back(p);
  return llvm::json::Object{{"stages", std::move(stageList)},
                            {"imbalance", v.plan.imbalance()},
                            {"schedule", v.estimate.schedule},
                            {"microbatches", v.estimate.microbatches},
                            {"virtual_stages", v.estimate.virtualStages},
                            {"step_time_s", v.estimate.makespan},
                            {"bubble_fraction", v.estimate.bubbleFraction},
                            {"peak_in_flight_microbatches", std::move(peaks)}};
}

static LogicalResult printPipelinePlan(func::FuncOp forward, int64_t pp, int64_t dp,
                                       llvm::raw_ostream &os) {
  FailureOr<PipelinePlanView> view = planPipeline(forward, pp, dp);
  if (failed(view))
    return failure();
  auto *plan = &view->plan;
  auto *estimate = &view->estimate;
  weft::printStagePlan(*plan, pp, os);
  weft::printPipelineEstimate(*estimate, os);
  return success();
}

// Training.
static cl::OptionCategory trainCategory("weftc training options");
static cl::opt<std::string> train("train",
                                  cl::desc("Compile a training step with this optimizer: sgd or adamw (grad: return the gradients, "
                                           "as outputs named grad:<param>, without updating)"),
                                  cl::value_desc("optimizer"), cl::cat(trainCategory));
static cl::opt<float> lr("lr", cl::desc("Learning rate"), cl::init(1e-3f), cl::cat(trainCategory));
static cl::opt<float> weightDecay("weight-decay",
                                  cl::desc("Weight decay (default: 0.01 for adamw, 0 for sgd)"),
                                  cl::init(-1.0f), cl::cat(trainCategory));
static cl::opt<float> momentum("momentum", cl::desc("SGD momentum"), cl::init(0.9f),
                               cl::cat(trainCategory));
static cl::opt<float> beta1("beta1", cl::desc("AdamW beta1"), cl::init(0.9f), cl::cat(trainCategory));
static cl::opt<float> beta2("beta2", cl::desc("AdamW beta2"), cl::init(0.999f), cl::cat(trainCategory));
static cl::opt<float> adamEps("eps", cl::desc("AdamW epsilon"), cl::init(1e-8f), cl::cat(trainCategory));
static cl::opt<int> zero("zero",
                         cl::desc("ZeRO stage under --mesh=dp=N: 1 shards the optimizer state "
                                  "(each device updates 1/N of every parameter)"),
                         cl::init(0), cl::cat(meshCategory));
static cl::opt<bool> recompute("recompute",
                               cl::desc("Recompute each layer in the backward pass instead of "
                                        "keeping its activations (less memory, one more forward)"),
                               cl::cat(trainCategory));
static cl::opt<float> clipNorm("clip-norm", cl::desc("Clip gradients to this global L2 norm (0: off)"),
                               cl::init(0.0f), cl::cat(trainCategory));

// Mixed precision, as PyTorch autocast: every matmul (the backward ones too)
// and attention reads bf16-rounded inputs and accumulates in f32; parameters,
// gradients, optimizer state and all other ops stay f32.
static cl::opt<std::string> precision("precision",
                                      cl::desc("Matmul precision: f32 (the default) or bf16 "
                                               "(bf16 matmul and attention inputs, f32 "
                                               "accumulation and master weights)"),
                                      cl::init("f32"), cl::cat(category));

static cl::opt<std::string> target(
    "target",
    cl::desc("Code generation target: cpu (the instruction list) or cuda (also the fused "
             "kernels as CUDA, compiled by NVRTC into the artifact; it still runs on cpu)"),
    cl::init("cpu"), cl::cat(category));
static cl::opt<std::string> cudaArch("cuda-arch",
                                     cl::desc("GPU architecture of the generated kernels for "
                                              "--target=cuda (SASS; PTX for newer GPUs is "
                                              "added). The runtime's own kernels are built for "
                                              "sm_90 and newer: an older GPU needs the runtime "
                                              "rebuilt (CMAKE_CUDA_ARCHITECTURES)"),
                                     cl::init("sm_90"), cl::cat(category));

// Prints a module with one argument of @forward per line: models have
// dozens of parameters, and one line each is what a reader can scan.
static void printModel(ModuleOp module, llvm::raw_ostream &os) {
  std::string text;
  llvm::raw_string_ostream(text) << module;
  size_t start = text.find("func.func @forward(");
  size_t end = text.find('\n', start);
  if (start != std::string::npos && end != std::string::npos) {
    std::string header = text.substr(start, end - start), split;
    // Split at ", %arg" outside of brackets: argument boundaries.
    for (size_t i = 0; i < header.size(); ++i) {
      if (header.compare(i, 6, ", %arg") == 0) {
        split += ",\n      ";
        ++i; // skip the space
        continue;
      }
      split += header[i];
    }
    size_t open = split.find('(');
    split.insert(open + 1, "\n      ");
    size_t close = split.rfind(") -> (");
    if (close != std::string::npos)
      split.insert(close, "\n  ");
    text.replace(start, end - start, split);
  }
  os << text << "\n";
}

// The --precision line of --stats and --explain (weft-dump prints the same).
static void printPrecision(llvm::raw_ostream &os) {
  os << "precision: " << weft::precisionSummary(precision) << "\n";
}

// --stats --json: the model's numbers and the precision it compiles to.
static llvm::json::Value statsJson(func::FuncOp forward) {
  llvm::json::Value out = weft::modelStatsToJson(weft::computeModelStats(forward));
  out.getAsObject()->insert({"precision", precision.getValue()});
  return out;
}

static int fail(const llvm::Twine &msg) {
  llvm::errs() << "weftc: error: " << msg << "\n";
  return 1;
}

static LogicalResult writeOutput(llvm::function_ref<void(llvm::raw_ostream &)> fn) {
  std::string err;
  auto out = openOutputFile(outputFile.empty() ? "-" : outputFile.getValue(), &err);
  if (!out) {
    llvm::errs() << "weftc: error: " << err << "\n";
    return failure();
  }
  fn(out->os());
  out->keep();
  return success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  // Pass names first: --mlir-print-ir-after=<pass> and friends list them.
  weft::registerAllWeftPasses();
  registerPassManagerCLOptions();
  // LLVM has a --stats of its own (pass statistics), registered on first use
  // of the option table; weftc's --stats is the model summary, so it takes
  // the name over once LLVM's is in the table.
  if (cl::Option *llvmStats = cl::getRegisteredOptions().lookup("stats"))
    llvmStats->removeArgument();
  static cl::opt<bool> stats("stats",
                             cl::desc("Print parameters, FLOPs and bytes"),
                             cl::cat(category));
  cl::HideUnrelatedOptions({&category, &meshCategory, &trainCategory});
  (void)0;
  cl::ParseCommandLineOptions(argc, argv, "Weft compiler\n");

  if (!weft::isPrecision(precision))
    return fail("--precision=" + precision + ": expected f32 or bf16");
  // The planner costs the precision the program will run in, unless told
  // (without --precision it keeps "auto": bf16 where the cluster has it).
  const bool planPrecisionFromProgram =
      precision.getNumOccurrences() && !planPrecision.getNumOccurrences();
  if (planPrecisionFromProgram)
    planPrecision = precision.getValue();

  if (target != "cpu" && target != "cuda")
    return fail("unknown --target '" + target + "'; expected cpu or cuda");
  if (target == "cuda" && !weft::haveCudaTarget())
    return fail("--target=cuda needs NVRTC, and this weftc was built without the CUDA toolkit");
  if (cudaArch.getNumOccurrences() && target != "cuda")
    return fail("--cuda-arch=" + cudaArch + " applies to --target=cuda only");
  if (!llvm::Regex("^sm_[0-9]+[a-z]?$").match(cudaArch.getValue()))
    return fail("--cuda-arch=" + cudaArch + ": unknown CUDA architecture '" + cudaArch +
                "'; expected sm_NN, e.g. sm_90");
  weft::ArtifactOptions artifactOptions;
  artifactOptions.target = target;
  artifactOptions.cudaArch = cudaArch;

  DialectRegistry registry;
  weft::registerWeftDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // Diagnostics point at the source line; a dump of the op adds nothing.
  ctx.printOpOnDiagnostic(false);

  OwningOpRef<ModuleOp> module;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);

  const bool compileFlags = !train.empty() || !mesh.empty();
  if (!generate.empty() && (compileFlags || inputFile != "-"))
    return fail("--generate prints a model and takes no input file, --train or --mesh; write it "
                "with -o model.mlir, then compile that: weftc model.mlir --train=... -o model.weft");
  if (!generate.empty() && llvm::StringRef(outputFile).ends_with(".weft"))
    return fail("--generate writes the model's text (.mlir), not an artifact; use -o model.mlir");
  if (generate.empty() && inputFile == "-" && isatty(fileno(stdin)))
    return fail("no model given: weftc model.mlir [--stats | -o model.weft] (or --generate=KIND; "
                "--help lists the flags)");

  if (!generate.empty()) {
    weft::ModelSpec spec{generate, layers, hidden, heads, vocab, seq,
                         batch,    ffn,    features, classes};
    std::string error;
    auto generated = weft::generateModel(&ctx, spec, error);
    if (failed(generated))
      return fail(error);
    module = std::move(*generated);
    if (failed(verify(*module)) || failed(weft::verifyModel(*module)))
      return fail("the generated model failed to verify (a generator bug)");
    if (!stats)
      return failed(writeOutput([&](llvm::raw_ostream &os) {
               printModel(*module, os);
             }))
                 ? 1
                 : 0;
  } else {
    std::string err;
    auto file = openInputFile(inputFile, &err);
    if (!file)
      return fail(err);
    if (file->getBuffer().starts_with(llvm::StringRef("WEFTART\0", 8)))
      return fail(inputFile + " is a compiled artifact; weftc reads models (.mlir). Inspect it "
                              "with weft-dump, run it with weft-run");
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&ctx));
    if (!module)
      return 1; // the parser or verifier has reported where and why
    if (failed(weft::verifyModel(*module)))
      return 1;
  }

  if (precision == "bf16")
    (*module)->setAttr(weft::kPrecisionAttr, StringAttr::get(&ctx, precision));

  if (plan.getNumOccurrences() || devices.getNumOccurrences() || cluster.getNumOccurrences() ||
      calibration.getNumOccurrences() || planOnly) {
    weft::PlanRequest request;
    request.plan = plan, request.devices = devices, request.cluster = cluster;
    request.calibration = calibration;
    request.precision = planPrecision, request.planOnly = planOnly, request.train = train;
    request.precisionFromProgram = planPrecisionFromProgram;
    request.explain = explain.getNumOccurrences() > 0, request.explainJson = explain == "json";
    request.mesh = mesh, request.schedule = schedule;
    request.microbatches = microbatches.getNumOccurrences() ? microbatches.getValue() : 0;
    request.zero = zero.getNumOccurrences() ? zero.getValue() : -1;
    request.recompute = recompute.getNumOccurrences() ? recompute.getValue() : -1;
    request.compiling = !outputFile.empty() && !planOnly;
    weft::PlanDecision chosen = weft::runPlanCommand(*module, request);
    if (chosen.done)
      return chosen.exitCode;
    // Compile the chosen plan exactly as --mesh=... with its settings would,
    // and record what it was chosen for (the artifact's PlanInfo).
    weft::recordPlan(*module, chosen);
    mesh = chosen.mesh;
    zero = chosen.zero;
    recompute = chosen.recompute;
    if (chosen.pp > 1) {
      microbatches = chosen.microbatches;
      schedule = chosen.schedule;
      virtualStages = chosen.virtualStages;
    }
  }

  // The pipeline flags only plan today: they need pp > 1, and --stats.
  MeshSpec meshSpec;
  if (!mesh.empty()) {
    std::string error;
    FailureOr<MeshSpec> parsed = parseMesh(mesh, error);
    if (failed(parsed))
      return fail(error);
    meshSpec = *parsed;
  }
  const bool pipelineFlags = microbatches.getNumOccurrences() || schedule.getNumOccurrences() ||
                             stages.getNumOccurrences() || virtualStages.getNumOccurrences();
  if (pipelineFlags && meshSpec.pp < 2)
    return fail("--microbatches, --schedule, --stages and --virtual-stages plan a pipeline: they "
                "need --mesh=pp=P with P > 1");
  if (meshSpec.pp > 1 && !stats && !explain.getNumOccurrences()) {
    // A pipeline interleaves forward and backward passes: it trains.
    if (train != "sgd" && train != "adamw")
      return fail("--mesh=...,pp=" + std::to_string(meshSpec.pp) +
                  " builds a pipelined training step: it needs --train=sgd|adamw (serve a model "
                  "with dp and tp)");
    if (weft::hasShardingAnnotations(*module))
      return fail("weft.sharding annotations with pp > 1 are not supported yet; drop pp or the "
                  "annotations");
    if (virtualStages < 1)
      return fail("--virtual-stages must be at least 1, got " + std::to_string(virtualStages));
    func::FuncOp forward = weft::getForward(*module);
    if (failed(weft::checkMicrobatches(forward, microbatches)))
      return 1;
    // Each of dp's devices splits its share of the batch into M microbatches.
    for (unsigned i = 0; meshSpec.dp > 1 && i < forward.getNumArguments(); ++i) {
      auto type = llvm::cast<RankedTensorType>(forward.getArgumentTypes()[i]);
      if (forward.getArgAttr(i, weft::WeftDialect::kInput) && type.getRank() > 0 &&
          type.getDimSize(0) % (meshSpec.dp * microbatches) != 0) {
        llvm::errs() << "weftc: error: with --mesh dp=" << meshSpec.dp << " each device's batch is "
                     << "split into --microbatches=" << microbatches << ": dp x microbatches ("
                     << meshSpec.dp * microbatches << ") must divide the batch ("
                     << type.getDimSize(0) << ")\n";
        return 1;
      }
    }
  }

  if (stats) {
    if (meshSpec.pp > 1 && json) {
      func::FuncOp forward = weft::getForward(*module);
      FailureOr<PipelinePlanView> view = planPipeline(forward, meshSpec.pp, meshSpec.dp);
      if (failed(view))
        return 1; // reported at the model
      llvm::json::Value out = statsJson(forward);
      out.getAsObject()->insert({"pipeline", pipelinePlanJson(*view, meshSpec.pp)});
      return failed(writeOutput([&](llvm::raw_ostream &os) {
               os << llvm::formatv("{0:2}", out) << "\n";
             }))
                 ? 1
                 : 0;
    }
    if (meshSpec.pp > 1) {
      func::FuncOp forward = weft::getForward(*module);
      std::string plan;
      llvm::raw_string_ostream planOs(plan);
      if (failed(printPipelinePlan(forward, meshSpec.pp, meshSpec.dp, planOs)))
        return 1; // reported at the model
      return failed(writeOutput([&](llvm::raw_ostream &os) {
               weft::printModelStats(weft::computeModelStats(forward), os);
               printPrecision(os);
               os << plan;
             }))
                 ? 1
                 : 0;
    }
    func::FuncOp forward = weft::getForward(*module);
    return failed(writeOutput([&](llvm::raw_ostream &os) {
             if (json) {
               os << llvm::formatv("{0:2}", statsJson(forward)) << "\n";
             } else {
               weft::printModelStats(weft::computeModelStats(forward), os);
               printPrecision(os);
             }
           }))
               ? 1
               : 0;
  }
  const bool explaining = explain.getNumOccurrences() > 0;
  if (explaining && !outputFile.empty() && outputFile != "-")
    return fail("--explain prints how the model is split and compiles nothing; drop -o " +
                outputFile + " (or run weftc again without --explain to compile)");
  if (explaining && explain != "" && explain != "text" && explain != "json")
    return fail("--explain=" + explain + ": expected text or json");
  if (!outputFile.empty() || explaining) {
    PassManager pm(&ctx);
    if (failed(applyPassManagerCLOptions(pm)))
      return 1;
    if (!train.empty() && train != "sgd" && train != "adamw" && train != "grad")
      return fail("--train=" + train + " is not an optimizer; expected sgd, adamw or grad");
    if (train.empty() && (lr.getNumOccurrences() || weightDecay.getNumOccurrences() ||
                          clipNorm.getNumOccurrences() || momentum.getNumOccurrences() ||
                          beta1.getNumOccurrences() || beta2.getNumOccurrences() ||
                          adamEps.getNumOccurrences() || recompute.getNumOccurrences()))
      return fail("--lr, --weight-decay, --clip-norm, --momentum, --beta1, --beta2, --eps and "
                  "--recompute need --train=sgd|adamw");
    // Optimizer settings are checked here, where the user wrote them.
    auto check = [&](bool ok, const llvm::Twine &what) { return ok ? 0 : fail(what); };
    if (int rc = check(std::isfinite(lr) && lr > 0, "--lr must be a positive finite number, got " +
                                                       llvm::Twine(std::to_string(lr.getValue()))))
      return rc;
    if (int rc = check(beta1 >= 0 && beta1 < 1, "--beta1 must be in [0, 1), got " + llvm::Twine(std::to_string(beta1.getValue()))))
      return rc;
    if (int rc = check(beta2 >= 0 && beta2 < 1, "--beta2 must be in [0, 1), got " + llvm::Twine(std::to_string(beta2.getValue()))))
      return rc;
    if (int rc = check(adamEps > 0, "--eps must be positive, got " + llvm::Twine(std::to_string(adamEps.getValue()))))
      return rc;
    if (int rc = check(clipNorm >= 0, "--clip-norm must be 0 (off) or positive, got " +
                                          llvm::Twine(std::to_string(clipNorm.getValue()))))
      return rc;
    if (int rc = check(weightDecay >= 0 || !weightDecay.getNumOccurrences(),
                       "--weight-decay must not be negative, got " + llvm::Twine(std::to_string(weightDecay.getValue()))))
      return rc;
    if (int rc = check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got " +
                                                          llvm::Twine(std::to_string(momentum.getValue()))))
      return rc;
    if (train == "adamw" && momentum.getNumOccurrences())
      return fail("--momentum is an SGD setting; AdamW takes --beta1 and --beta2");
    if (train == "sgd" && (beta1.getNumOccurrences() || beta2.getNumOccurrences() ||
                           adamEps.getNumOccurrences()))
      return fail("--beta1, --beta2 and --eps are AdamW settings; SGD takes --momentum");
    weft::WeftPipelineOptions options;
    if (!mesh.empty()) {
      std::string error;
      FailureOr<MeshSpec> parsed = parseMesh(mesh, error);
      if (failed(parsed))
        return fail(error);
      options.dp = parsed->dp;
      options.tp = parsed->tp;
      options.pp = parsed->pp;
      options.microbatches = microbatches;
      options.schedule = !schedule.empty() ? schedule.getValue()
                         : virtualStages > 1 ? "interleaved" : "1f1b";
      options.virtualStages = virtualStages;
      options.stages = stages;
      if (parsed->tp > 1 && tpStyle != "megatron")
        return fail("--tp-style=" + tpStyle + " is unknown; expected megatron");
    }
    options.train = train;
    options.lr = lr;
    options.weightDecay = weightDecay;
    options.momentum = momentum;
    options.beta1 = beta1;
    options.beta2 = beta2;
    options.eps = adamEps;
    options.clipNorm = clipNorm;
    options.recompute = recompute;
    options.gemmEpilogues = target == "cuda";
    if (zero != 0 && zero != 1)
      return fail("--zero=" + std::to_string(zero) + ": only ZeRO stage 0 or 1 is supported");
    if (zero == 1 && (options.dp < 2 || train.empty() || train == "grad"))
      return fail("--zero=1 shards the optimizer state: it needs --mesh=dp=N with N > 1 and "
                  "--train=sgd|adamw");
    options.zero = zero;
    options.annotated = weft::hasShardingAnnotations(*module);
    if (options.annotated && zero == 1)
      return fail("--zero=1 with weft.sharding annotations is not supported yet");
    std::string stagePlan; // --explain with pp: the cut, printed after the shardings
    if (explaining) {
      // --explain shows @forward's sharding over dp and tp, also for
      // annotated models; with pp, then the stage plan.
      options.train = "";
      if (options.pp > 1) {
        llvm::raw_string_ostream planOs(stagePlan);
        if (failed(printPipelinePlan(weft::getForward(*module), options.pp, options.dp, planOs)))
          return 1;
        options.pp = 1;
      }
      weft::addWeftPartitionPipeline(pm, options);
    } else if (options.pp > 1) {
      // One module per pp rank: each becomes that rank's unrolled step.
      std::vector<OwningOpRef<ModuleOp>> ranks;
      for (int64_t r = 0; r < options.pp; ++r) {
        ranks.push_back(module->clone());
        options.ppRank = r;
        PassManager rankPm(&ctx);
        if (failed(applyPassManagerCLOptions(rankPm)))
          return 1;
        weft::addWeftDefaultPipeline(rankPm, options);
        if (failed(rankPm.run(*ranks.back())))
          return 1; // the failing pass has reported where and why
      }
      std::string error;
      auto out = openOutputFile(outputFile, &error);
      if (!out)
        return fail(error);
      SmallVector<ModuleOp> modules;
      for (auto &m : ranks)
        modules.push_back(*m);
      if (failed(weft::writePipelineArtifact(modules, inputFile, out->os(), artifactOptions)))
        return 1;
      out->keep();
      if (microbatches < options.pp && !plan.getNumOccurrences())
        llvm::errs() << "weftc: note: --microbatches=" << microbatches << " is fewer than the "
                     << options.pp << " pipeline stages: each rank waits for the others most of "
                        "the step (weft-dump --schedule shows the bubble); give --microbatches="
                     << options.pp << " or more\n";
      return 0;
    } else {
      weft::addWeftDefaultPipeline(pm, options);
    }
    if (failed(pm.run(*module)))
      return 1; // the failing pass has reported where and why
    if (explaining)
      return failed(writeOutput([&](llvm::raw_ostream &os) {
               weft::printShardingExplanation(weft::getForward(*module), os, explain == "json");
               if (explain != "json")
                 printPrecision(os);
               if (explain != "json" && !stagePlan.empty())
                 os << "\n" << stagePlan;
             }))
                 ? 1
                 : 0;
    std::string error;
    auto out = openOutputFile(outputFile, &error);
    if (!out)
      return fail(error);
    if (failed(weft::writeArtifact(*module, inputFile, out->os(), artifactOptions)))
      return 1;
    out->keep();
    return 0;
  }
  llvm::outs() << inputFile << ": a valid Weft model (use --stats for a summary)\n";
  return 0;
}
