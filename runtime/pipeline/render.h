// Pictures of a simulated schedule: text (one line per rank), a full
// instruction list with times, and SVG (the usual pipeline diagram).
#ifndef WEFT_RUNTIME_PIPELINE_RENDER_H_
#define WEFT_RUNTIME_PIPELINE_RENDER_H_

#include <string>

#include "runtime/pipeline/schedule.h"
#include "runtime/pipeline/simulate.h"

namespace weft::pipeline {

// A header line, one line per rank with its forwards and backwards in time
// order and its peak in-flight activations, and the bubble fraction.
std::string RenderText(const Schedule &schedule, const Simulation &sim, const Costs &costs);

// Every instruction of every rank (sends and receives too) with its start
// and end time: what the runtime will execute.
std::string RenderList(const Schedule &schedule, const Simulation &sim);

// Ranks as rows, time as columns, one box per forward or backward coloured
// by microbatch (forward light, backward dark, both labelled), idle time
// grey; a title with P, M, the schedule and the bubble fraction; a legend.
std::string RenderSvg(const Schedule &schedule, const Simulation &sim, const Costs &costs);

}  // namespace weft::pipeline

#endif  // WEFT_RUNTIME_PIPELINE_RENDER_H_
