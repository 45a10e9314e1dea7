#include "runtime/pipeline/render.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace weft::pipeline {
namespace {

// "forward 1, backward 2", or per stage when the stages differ (a cut by
// the compiler's cost model): "forward 1 1.5, backward 2 3 per stage".
std::string CostText(const Costs &c) {
  if (c.stage_forward.empty()) return absl::StrFormat("forward %g, backward %g", c.forward, c.backward);
  auto list = [](const std::vector<double> &v) {
    std::vector<std::string> parts;
    for (double x : v) parts.push_back(absl::StrFormat("%.3g", x));
    return absl::StrJoin(parts, " ");
  };
  return absl::StrCat("forward ", list(c.stage_forward), ", backward ", list(c.stage_backward),
                      " per stage");
}

std::string Header(const Schedule &s, const Simulation &sim, const Costs &c) {
  const ScheduleOptions &o = s.options;
  // With chunks, "P stages" would contradict the P x V costs that follow.
  std::string h =
      o.virtual_stages > 1
          ? absl::StrCat(ScheduleKindName(o.kind), ": ", o.stages, " ranks x ", o.virtual_stages,
                         " chunks = ", o.stages * o.virtual_stages, " stages, ", o.microbatches,
                         " microbatches")
          : absl::StrCat(ScheduleKindName(o.kind), ": ", o.stages, " stages, ", o.microbatches,
                         " microbatches");
  absl::StrAppendFormat(&h, "; costs %s, comm %g", CostText(c), c.comm);
  if (c.optimizer > 0) absl::StrAppendFormat(&h, ", optimizer %g", c.optimizer);
  absl::StrAppend(&h, "; sends ", sim.sends == SendMode::kBlocking ? "blocking" : "buffered");
  return h;
}

std::string ComputeLabel(const Instruction &in, int virtual_stages) {
  return InstructionName(in, virtual_stages);  // "F3", "B3.1"
}

// tab10 without its grey (grey is the bubble), and one more blue.
constexpr const char *kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79"};
constexpr int kColours = sizeof(kPalette) / sizeof(kPalette[0]);

// The colour mixed halfway with white: the forward's shade.
std::string Lighter(const std::string &hex) {
  std::string out = "#";
  for (int i = 0; i < 3; ++i) {
    const int v = std::stoi(hex.substr(1 + 2 * i, 2), nullptr, 16);
    absl::StrAppendFormat(&out, "%02x", (v + 255) / 2);
  }
  return out;
}

}  // namespace

std::string RenderText(const Schedule &s, const Simulation &sim, const Costs &c) {
  std::string out = Header(s, sim, c) + "\n";
  const int P = s.options.stages;
  double idle = 0;
  for (int r = 0; r < P; ++r) {
    std::vector<std::string> ops;
    for (const Instruction &in : s.ranks[r])
      if (IsCompute(in.kind)) ops.push_back(ComputeLabel(in, s.options.virtual_stages));
    const double rank_idle = sim.makespan - sim.busy[r];
    idle += rank_idle;
    absl::StrAppendFormat(&out, "rank %d: %s | peak activations %d, idle %g\n", r,
                          absl::StrJoin(ops, " "), sim.peak_activations[r], rank_idle);
  }
  absl::StrAppendFormat(&out, "time %g, bubble fraction %.4f (idle %g of %g)\n", sim.makespan,
                        sim.bubble_fraction, idle, sim.makespan * P);
  return out;
}

std::string RenderList(const Schedule &s, const Simulation &sim) {
  std::string out;
  for (size_t r = 0; r < s.ranks.size(); ++r) {
    absl::StrAppendFormat(&out, "rank %d:\n", r);
    for (size_t i = 0; i < s.ranks[r].size(); ++i)
      absl::StrAppendFormat(&out, "  %3d  [%g, %g]  %s\n", i, sim.timeline[r][i].start,
                            sim.timeline[r][i].end,
                            InstructionName(s.ranks[r][i], s.options.virtual_stages));
  }
  return out;
}

std::string RenderSvg(const Schedule &s, const Simulation &sim, const Costs &c) {
  const ScheduleOptions &o = s.options;
  const int P = o.stages, M = o.microbatches, V = o.virtual_stages;
  const double makespan = std::max(sim.makespan, 1e-9);
  // Geometry: rank labels on the left, rows of boxes, a time axis, a legend.
  const double left = 70, right = 20, top = 64, row_h = 34, row_gap = 8;
  const double unit = std::clamp(960.0 / makespan, 6.0, 48.0);  // pixels per time unit
  const double plot_w = makespan * unit;
  const double rows_h = P * row_h + (P - 1) * row_gap;
  const double axis_y = top + rows_h + 6;
  const int legend_cols = std::min(M, 10);
  const int legend_rows = (M + legend_cols - 1) / legend_cols;
  const double legend_y = axis_y + 34;
  // Title: schedule, P, M (V), bubble fraction; then the costs and peaks.
  std::string kind = o.kind == ScheduleKind::kGPipe ? "GPipe"
                     : o.kind == ScheduleKind::k1F1B ? "1F1B"
                                                      : "Interleaved 1F1B";
  std::string title = absl::StrFormat("%s schedule: P=%d stages, M=%d microbatches", kind, P, M);
  if (V > 1) absl::StrAppendFormat(&title, ", V=%d virtual stages", V);
  absl::StrAppendFormat(&title, " - bubble fraction %.1f%%", 100 * sim.bubble_fraction);
  // Wide enough for the boxes and for the title (bold 17px: ~10px a letter).
  const double width = std::max({left + plot_w + right, left + 10.0 * title.size() + right, 720.0});
  const double height = legend_y + legend_rows * 22 + 34;

  std::string out;
  absl::StrAppendFormat(&out,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                        "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\">\n",
                        width, height, width, height);
  absl::StrAppendFormat(&out, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", width, height);
  absl::StrAppendFormat(&out, "<text x=\"%.0f\" y=\"24\" font-size=\"17\" font-weight=\"bold\">%s</text>\n",
                        left, title);
  absl::StrAppendFormat(&out,
                        "<text x=\"%.0f\" y=\"46\" font-size=\"12\" fill=\"#444\">%s, comm %g per op, "
                        "%s sends; time %g; peak in-flight activations per rank: %s</text>\n",
                        left, CostText(c), c.comm,
                        sim.sends == SendMode::kBlocking ? "blocking" : "buffered", sim.makespan,
                        absl::StrJoin(sim.peak_activations, ", "));
  for (int r = 0; r < P; ++r) {
    const double y = top + r * (row_h + row_gap);
    absl::StrAppendFormat(&out,
                          "<text x=\"%.0f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"end\">rank %d</text>\n",
                          left - 8, y + row_h / 2 + 4, r);
    // The row's background is the bubble: idle time shows grey.
    absl::StrAppendFormat(&out,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#e6e6e6\"/>\n",
                          left, y, plot_w, row_h);
    for (size_t i = 0; i < s.ranks[r].size(); ++i) {
      const Instruction &in = s.ranks[r][i];
      const TimedInstruction &t = sim.timeline[r][i];
      const double x = left + t.start * unit, w = (t.end - t.start) * unit;
      if (in.kind == OpKind::kOptimizerStep) {
        if (w > 0)
          absl::StrAppendFormat(&out,
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                "fill=\"#555\"><title>rank %d: optimizer step [%g, %g]</title></rect>\n",
                                x, y, w, row_h, r, t.start, t.end);
        continue;
      }
      if (!IsCompute(in.kind)) continue;
      const std::string base = kPalette[in.microbatch % kColours];
      const bool forward = in.kind == OpKind::kForward;
      const std::string label = ComputeLabel(in, V);
      absl::StrAppendFormat(&out,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                            "stroke=\"white\" stroke-width=\"1\"><title>rank %d: %s [%g, %g]</title></rect>\n",
                            x, y, w, row_h, forward ? Lighter(base) : base, r, label, t.start, t.end);
      if (w >= 7.0 * label.size())
        absl::StrAppendFormat(&out,
                              "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                              "fill=\"%s\">%s</text>\n",
                              x + w / 2, y + row_h / 2 + 4, forward ? "#222" : "white", label);
    }
  }
  // Time axis, about 12 ticks at round steps.
  absl::StrAppendFormat(&out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                        left, axis_y, left + plot_w, axis_y);
  const double raw = makespan / 12;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  for (double t = 0; t <= makespan + 1e-9; t += step) {
    const double x = left + t * unit;
    absl::StrAppendFormat(&out,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n",
                          x, axis_y, x, axis_y + 4, x, axis_y + 16, t);
  }
  absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">time</text>\n",
                        left - 8, axis_y + 16);
  // Legend: one light/dark pair per microbatch.
  for (int mb = 0; mb < M; ++mb) {
    const double x = left + (mb % legend_cols) * 78, y = legend_y + (mb / legend_cols) * 22;
    const std::string base = kPalette[mb % kColours];
    absl::StrAppendFormat(&out,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">mb %d</text>\n",
                          x, y, Lighter(base), x + 14, y, base, x + 32, y + 11, mb);
  }
  absl::StrAppendFormat(&out,
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#444\">light / F: forward, "
                        "dark / B: backward%s; grey: idle (the bubble)</text>\n",
                        left, legend_y + legend_rows * 22 + 12,
                        V > 1 ? "; F3.1: microbatch 3 on the rank's chunk 1" : "");
  out += "</svg>\n";
  return out;
}

}  // namespace weft::pipeline
