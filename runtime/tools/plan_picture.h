// weft-dump --plan: the mesh drawn over the cluster. Ranks are numbered
// row-major over the mesh axes (the last innermost: tp, then dp, then pp), and
// rank r sits on node r / devices_per_node, as the planner's cost model
// assumes; so a tp group is neighbouring devices, a dp group is tp apart, and
// the pipeline stages are the outermost blocks.
#ifndef WEFT_RUNTIME_TOOLS_PLAN_PICTURE_H_
#define WEFT_RUNTIME_TOOLS_PLAN_PICTURE_H_

#include <string>
#include <utility>
#include <vector>

namespace weft::tools {

struct PlanPicture {
  std::vector<std::pair<std::string, int>> axes;  // outermost first; empty: one device
  bool cluster_known = false;  // the artifact has a PlanInfo table
  std::string cluster, device_kind, summary;
  int devices_per_node = 8;
  double step_time_s = 0, compute_s = 0, communication_s = 0, bubble_s = 0;
  double tflops_per_device = 0;
};

// Devices per node when the artifact does not say (a DGX-style node).
inline constexpr int kDefaultDevicesPerNode = 8;

std::string RenderPlanSvg(const PlanPicture &p);
std::string RenderPlanText(const PlanPicture &p);

}  // namespace weft::tools

#endif  // WEFT_RUNTIME_TOOLS_PLAN_PICTURE_H_
