#include "runtime/tools/plan_picture.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace weft::tools {
namespace {

// A rank's coordinate on the pp, dp and tp axes (0 where the mesh lacks one).
struct Coord {
  int pp = 0, dp = 0, tp = 0;
};

struct Mesh {
  int pp = 1, dp = 1, tp = 1, ranks = 1;
  std::vector<Coord> coords;
  std::string text;  // "pp=2 x dp=2 x tp=2"
};

Mesh MeshOf(const PlanPicture &p) {
  Mesh m;
  for (const auto &[name, size] : p.axes) {
    if (name == "pp") m.pp = size;
    else if (name == "dp") m.dp = size;
    else if (name == "tp") m.tp = size;
    m.ranks *= size;
    absl::StrAppend(&m.text, m.text.empty() ? "" : " x ", name, "=", size);
  }
  if (m.text.empty()) m.text = "one device";
  for (int r = 0; r < m.ranks; ++r) {
    Coord c;
    int rest = r;
    for (auto it = p.axes.rbegin(); it != p.axes.rend(); ++it) {
      int v = rest % it->second;
      rest /= it->second;
      if (it->first == "pp") c.pp = v;
      else if (it->first == "dp") c.dp = v;
      else if (it->first == "tp") c.tp = v;
    }
    m.coords.push_back(c);
  }
  return m;
}

std::string Seconds(double s) {
  if (s >= 1) return absl::StrFormat("%.3f s", s);
  if (s >= 1e-3) return absl::StrFormat("%.2f ms", s * 1e3);
  return absl::StrFormat("%.1f us", s * 1e6);
}

std::string Header(const PlanPicture &p, const Mesh &m, int perNode) {
  std::string s = absl::StrCat("mesh ", m.text, " (", m.ranks, m.ranks == 1 ? " rank" : " ranks", ")");
  if (p.cluster_known)
    absl::StrAppend(&s, " on cluster ", p.cluster, ": ", perNode, " x ", p.device_kind, " per node");
  else
    absl::StrAppend(&s, "; no cluster recorded (a --mesh artifact): drawn with ", perNode,
                    " devices per node");
  return s;
}

std::string PlanLine(const PlanPicture &p) {
  return absl::StrCat("plan ", p.summary, ": predicted step ", Seconds(p.step_time_s), ", ",
                      absl::StrFormat("%.4g", p.tflops_per_device), " TFLOP/s per device");
}

std::string SplitLine(const PlanPicture &p) {
  return absl::StrCat("step split: compute ", Seconds(p.compute_s), ", communication ",
                      Seconds(p.communication_s), ", bubble ", Seconds(p.bubble_s));
}

std::string Escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// Pipeline stages: one fill colour each (cycling).
const char *kStageFill[] = {"#dbeafe", "#fde68a", "#bbf7d0", "#fecaca",
                            "#e9d5ff", "#fed7aa", "#a5f3fc", "#f5d0fe"};
// dp groups: one line colour per tp coordinate (cycling).
const char *kDpLine[] = {"#1d4ed8", "#b91c1c", "#047857", "#7c3aed",
                         "#c2410c", "#0e7490", "#a21caf", "#4d7c0f"};

}  // namespace

std::string RenderPlanText(const PlanPicture &p) {
  const Mesh m = MeshOf(p);
  const int perNode = std::max(1, p.devices_per_node);
  std::string s = Header(p, m, perNode) + "\n";
  if (p.cluster_known) s += PlanLine(p) + "\n" + SplitLine(p) + "\n";
  const int nodes = (m.ranks + perNode - 1) / perNode;
  for (int n = 0; n < nodes; ++n) {
    absl::StrAppend(&s, "node ", n, ":");
    for (int r = n * perNode; r < std::min(m.ranks, (n + 1) * perNode); ++r)
      absl::StrAppend(&s, " ", r, "(pp", m.coords[r].pp, ",dp", m.coords[r].dp, ",tp",
                      m.coords[r].tp, ")");
    s += "\n";
  }
  auto spans = [&](int size, auto &&key) {
    std::map<std::pair<int, int>, std::vector<int>> groups;
    for (int r = 0; r < m.ranks; ++r) groups[key(m.coords[r])].push_back(r);
    std::string out;
    for (const auto &[k, ranks] : groups) {
      std::vector<int> ns;
      for (int r : ranks)
        if (ns.empty() || ns.back() != r / perNode) ns.push_back(r / perNode);
      absl::StrAppend(&out, "  {", absl::StrJoin(ranks, ","), "} on node",
                      ns.size() > 1 ? "s " : " ", absl::StrJoin(ns, ","), "\n");
    }
    return size > 1 ? out : std::string("  (size 1)\n");
  };
  s += "tp groups:\n" + spans(m.tp, [](const Coord &c) { return std::make_pair(c.pp, c.dp); });
  s += "dp groups:\n" + spans(m.dp, [](const Coord &c) { return std::make_pair(c.pp, c.tp); });
  s += "pp groups:\n" + spans(m.pp, [](const Coord &c) { return std::make_pair(c.dp, c.tp); });
  return s;
}

std::string RenderPlanSvg(const PlanPicture &p) {
  const Mesh m = MeshOf(p);
  const int perNode = std::max(1, p.devices_per_node);
  const int nodes = (m.ranks + perNode - 1) / perNode;
  // Geometry: devices in rows of up to 8 inside a node, nodes in rows of 2.
  const int cols = std::min(perNode, 8), rows = (perNode + cols - 1) / cols;
  const int dw = 104, dh = 64, gap = 10, pad = 16, labelH = 22;
  const int nodeW = pad * 2 + cols * dw + (cols - 1) * gap;
  const int nodeH = labelH + pad * 2 + rows * dh + (rows - 1) * gap;
  const int nodesPerRow = std::min(nodes, 2), nodeGap = 24, top = 92;
  const int nodeRows = (nodes + nodesPerRow - 1) / nodesPerRow;
  const int width = std::max(900, 20 * 2 + nodesPerRow * nodeW + (nodesPerRow - 1) * nodeGap);
  const int legendY = top + nodeRows * (nodeH + nodeGap);
  const int height = legendY + 70 + 22 * std::min(m.pp, 8);

  auto nodeX = [&](int n) { return 20 + (n % nodesPerRow) * (nodeW + nodeGap); };
  auto nodeY = [&](int n) { return top + (n / nodesPerRow) * (nodeH + nodeGap); };
  auto devX = [&](int r) { return nodeX(r / perNode) + pad + (r % perNode % cols) * (dw + gap); };
  auto devY = [&](int r) {
    return nodeY(r / perNode) + labelH + pad + (r % perNode / cols) * (dh + gap);
  };

  std::string s = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, height);
  absl::StrAppend(&s, "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">",
                  Escape(Header(p, m, perNode)), "</text>\n");
  absl::StrAppend(&s, "<text x=\"20\" y=\"46\">",
                  Escape(p.cluster_known ? PlanLine(p) : std::string("no PlanInfo in the artifact: "
                                                                     "compiled with --mesh, not --plan=auto")),
                  "</text>\n");
  if (p.cluster_known)
    absl::StrAppend(&s, "<text x=\"20\" y=\"64\">", Escape(SplitLine(p)), "</text>\n");

  // Nodes.
  for (int n = 0; n < nodes; ++n) {
    absl::StrAppend(&s, absl::StrFormat(
                            "<g class=\"node\"><title>node %d</title><rect x=\"%d\" y=\"%d\" "
                            "width=\"%d\" height=\"%d\" rx=\"10\" fill=\"#f8fafc\" stroke=\"#334155\" "
                            "stroke-width=\"2\"/>\n<text x=\"%d\" y=\"%d\" font-weight=\"bold\">node %d</text></g>\n",
                            n, nodeX(n), nodeY(n), nodeW, nodeH, nodeX(n) + 10, nodeY(n) + 17, n));
    // Slots past the last rank: idle devices.
    for (int r = m.ranks; r < (n + 1) * perNode && r >= n * perNode; ++r)
      absl::StrAppend(&s, absl::StrFormat(
                              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"#e5e7eb\" "
                              "stroke=\"#9ca3af\" stroke-dasharray=\"3 3\"/><text x=\"%d\" y=\"%d\" "
                              "fill=\"#6b7280\">idle</text>\n",
                              devX(r), devY(r), dw, dh, devX(r) + 8, devY(r) + 18));
  }
  // Devices, filled by pipeline stage.
  for (int r = 0; r < m.ranks; ++r) {
    const Coord &c = m.coords[r];
    absl::StrAppend(&s, absl::StrFormat(
                            "<g class=\"device\"><title>rank %d: pp %d, dp %d, tp %d (node %d, device %d)"
                            "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" "
                            "fill=\"%s\" stroke=\"#475569\"/>\n<text x=\"%d\" y=\"%d\" font-weight=\"bold\">"
                            "rank %d</text><text x=\"%d\" y=\"%d\">pp%d dp%d tp%d</text></g>\n",
                            r, c.pp, c.dp, c.tp, r / perNode, r % perNode, devX(r), devY(r), dw, dh,
                            kStageFill[c.pp % 8], devX(r) + 8, devY(r) + 18, r, devX(r) + 8,
                            devY(r) + 36, c.pp, c.dp, c.tp));
  }
  // tp groups: an outline around each group's devices in each node (tp is
  // innermost, so a group is contiguous).
  if (m.tp > 1) {
    std::map<std::pair<int, int>, std::vector<int>> groups;
    for (int r = 0; r < m.ranks; ++r) groups[{m.coords[r].pp, m.coords[r].dp}].push_back(r);
    for (const auto &[k, ranks] : groups) {
      absl::StrAppend(&s, absl::StrFormat("<g class=\"tp-group\"><title>tp group (pp %d, dp %d): "
                                          "ranks %s</title>\n",
                                          k.first, k.second, absl::StrJoin(ranks, ",")));
      // One outline per row of devices the group covers.
      std::map<std::pair<int, int>, std::pair<int, int>> rows;  // (node, row) -> first, last rank
      for (int r : ranks) {
        auto key = std::make_pair(r / perNode, r % perNode / cols);
        auto it = rows.find(key);
        if (it == rows.end()) rows[key] = {r, r};
        else it->second.second = r;
      }
      for (const auto &[key, span] : rows)
        absl::StrAppend(&s, absl::StrFormat(
                                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"7\" fill=\"none\" "
                                "stroke=\"#059669\" stroke-width=\"3\"/>\n",
                                devX(span.first) - 4, devY(span.first) - 4,
                                devX(span.second) - devX(span.first) + dw + 8, dh + 8));
      s += "</g>\n";
    }
  }
  // dp groups: a line through the members' lower halves, one colour per tp
  // coordinate.
  if (m.dp > 1) {
    std::map<std::pair<int, int>, std::vector<int>> groups;
    for (int r = 0; r < m.ranks; ++r) groups[{m.coords[r].pp, m.coords[r].tp}].push_back(r);
    for (const auto &[k, ranks] : groups) {
      const char *colour = kDpLine[k.second % 8];
      // Each tp coordinate at its own height, so that a line passing over
      // another group's device does not seem to join it.
      const int dy = dh - 6 - 5 * (k.second % 4);
      std::string pts;
      for (int r : ranks)
        absl::StrAppend(&pts, pts.empty() ? "" : " ", devX(r) + dw / 2, ",", devY(r) + dy);
      absl::StrAppend(&s, absl::StrFormat(
                              "<g class=\"dp-group\"><title>dp group (pp %d, tp %d): ranks %s</title>"
                              "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                              "stroke-opacity=\"0.8\"/>\n",
                              k.first, k.second, absl::StrJoin(ranks, ","), pts, colour));
      for (int r : ranks)
        absl::StrAppend(&s, absl::StrFormat("<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/>",
                                            devX(r) + dw / 2, devY(r) + dy, colour));
      s += "</g>\n";
    }
  }
  // pp groups are the stages' colours; the legend names them.
  int y = legendY + 10;
  absl::StrAppend(&s, absl::StrFormat("<text x=\"20\" y=\"%d\" font-weight=\"bold\">legend</text>\n", y));
  y += 20;
  absl::StrAppend(&s, absl::StrFormat(
                          "<rect x=\"20\" y=\"%d\" width=\"30\" height=\"14\" fill=\"none\" stroke=\"#059669\" "
                          "stroke-width=\"3\"/><text x=\"58\" y=\"%d\">tp group (%d devices, outlined)</text>\n"
                          "<line x1=\"300\" y1=\"%d\" x2=\"330\" y2=\"%d\" stroke=\"#1d4ed8\" stroke-width=\"2\"/>"
                          "<text x=\"338\" y=\"%d\">dp group (%d devices, joined; one colour per tp rank)</text>\n",
                          y, y + 12, m.tp, y + 7, y + 7, y + 12, m.dp));
  for (int st = 0; st < std::min(m.pp, 8); ++st) {
    y += 22;
    absl::StrAppend(&s, absl::StrFormat(
                            "<rect x=\"20\" y=\"%d\" width=\"30\" height=\"14\" fill=\"%s\" stroke=\"#475569\"/>"
                            "<text x=\"58\" y=\"%d\">pipeline stage (pp rank) %d%s</text>\n",
                            y, kStageFill[st], y + 12, st,
                            m.pp > 8 && st == 7 ? " (colours repeat every 8 stages)" : ""));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace weft::tools
