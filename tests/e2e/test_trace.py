#!/usr/bin/env python3
"""weft-run --trace writes one Chrome/Perfetto trace of every rank.

Each case compiles a model for a mesh, runs `weft-run --steps=S --trace=...`
(ranks as threads, or one process per rank under mpirun), and checks the
JSON against the artifact as `weft-dump --format=json` describes it (the
dump reads the artifact on its own; no trace code is involved):

- one process per rank, named "rank r (pp p, dp d, tp t)" by the
  coordinates worked out here from the mesh, and each track it uses named;
- every instruction of each rank appears exactly once per step, with the
  dump's opcode, source op and location, and inside its step's event;
- collectives are on the comm track, category collective, and carry their
  operand's bytes; on dp each step all-reduces one gradient per parameter
  the rank holds, of that parameter's bytes (as the dump lists the rank's
  values), and nothing else but scalars (the loss);
- sends and receives (pp) are on the comm track and name their peer: the
  rank with this rank's coordinates but the stage the instruction names, one
  stage away; every send from r to q is matched by a receive on q from r;
- per track, events do not overlap and their timestamps do not go back;
- the ranks share one clock: each collective call overlaps the same call
  on the other ranks of its group, and a message is received after it was
  sent; under mpirun to within the bound each process's label states for
  its clock's alignment to rank 0's (this checks that bound).
- the steps track has --steps events, "step 0" .. "step S-1".

Usage: python3 tests/e2e/test_trace.py --bin build/bin [--tmp DIR]
"""
import argparse, collections, json, os, sys, tempfile

sys.path.insert(0, os.path.dirname(__file__))
from distributed import MPIRUN, launcher, ranks, run  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/bin")
ap.add_argument("--tmp", default="")
args = ap.parse_args()
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")

COLLECTIVES = {"all_reduce", "reduce_scatter", "all_gather", "all_to_all"}
P2P = {"send", "recv"}
EPS_US = 1e-3  # timestamps are printed in microseconds with nanosecond digits


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, label, ok, detail=""):
        print(f"  {label:70s} {'PASS' if ok else 'FAIL'}{'  ' + detail if detail and not ok else ''}",
              flush=True)
        self.passed += bool(ok)
        self.failed += not ok


def coords(rank, axes):
    """(pp, dp, tp) of a rank number, row-major over the mesh axes."""
    out, rest = {}, rank
    for name, size in reversed(axes):
        out[name] = rest % size
        rest //= size
    return out


def check_trace(check, trace_path, dump, steps, mpi):
    trace = json.load(open(trace_path))
    events = trace["traceEvents"]
    axes = [(a["name"], a["size"]) for a in dump["mesh_axes"]]
    nranks = dump["num_ranks"]
    meta = [e for e in events if e["ph"] == "M"]
    xs = [e for e in events if e["ph"] == "X"]
    check("every event is a metadata or a complete event", len(meta) + len(xs) == len(events))

    # One process per rank, named by its coordinates.
    names = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
    want = {r: "rank {} (pp {}, dp {}, tp {})".format(
        r, *(coords(r, axes).get(a, 0) for a in ("pp", "dp", "tp"))) for r in range(nranks)}
    check(f"{nranks} processes named by their coordinates", names == want,
          f"got {names}, want {want}")
    check("events belong to the mesh's ranks", {e["pid"] for e in xs} == set(range(nranks)))
    tracks = {(e["pid"], e["tid"]): e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    check("each track used is named", {(e["pid"], e["tid"]) for e in xs} <= set(tracks))
    track_of = lambda e: tracks.get((e["pid"], e["tid"]), "?")  # noqa: E731

    # Steps: one event per run per rank.
    step_ev = collections.defaultdict(list)
    for e in xs:
        if track_of(e) == "steps":
            step_ev[e["pid"]].append(e)
    ok = all(sorted(e["name"] for e in step_ev[r]) == sorted(f"step {k}" for k in range(steps))
             and all(e["cat"] == "step" for e in step_ev[r]) for r in range(nranks))
    check(f"every rank has {steps} step events on its steps track", ok,
          str({r: len(v) for r, v in step_ev.items()}))

    # Every instruction once per step, as the dump describes it.
    inst_ev = [e for e in xs if "instruction" in e.get("args", {})]
    seen = collections.Counter((e["pid"], e["args"]["instruction"], e["args"]["step"]) for e in inst_ev)
    bad = []
    for r in range(nranks):
        prog = dump["ranks"][r]["instructions"]
        for i in range(len(prog)):
            for s in range(steps):
                if seen[(r, i, s)] != 1:
                    bad.append((r, i, s, seen[(r, i, s)]))
    n_want = sum(len(dump["ranks"][r]["instructions"]) for r in range(nranks)) * steps
    check(f"each rank's every instruction once per step ({n_want} events)",
          not bad and len(inst_ev) == n_want, f"{len(bad)} wrong, e.g. {bad[:3]}; {len(inst_ev)} events")
    mismatch = [e for e in inst_ev
                if (lambda d: (d["op"], d["source_op"], d["loc"]) !=
                    (e["name"], e["args"]["source_op"], e["args"]["loc"]))(
                        dump["ranks"][e["pid"]]["instructions"][e["args"]["instruction"]])]
    check("names, source ops and locations are the artifact's", not mismatch,
          str(mismatch[:2]))
    within = {(e["pid"], e["args"]["step"]): e for r in step_ev for e in step_ev[r]}
    outside = [e for e in inst_ev
               if not (within[(e["pid"], e["args"]["step"])]["ts"] - EPS_US <= e["ts"] and
                       e["ts"] + e["dur"] <= within[(e["pid"], e["args"]["step"])]["ts"] +
                       within[(e["pid"], e["args"]["step"])]["dur"] + EPS_US)]
    check("instructions lie inside their step", not outside, str(outside[:2]))

    # Collectives: comm track, their operand's bytes.
    def operand_bytes(e, which="operands"):
        rank = dump["ranks"][e["pid"]]
        ins = rank["instructions"][e["args"]["instruction"]]
        return rank["values"][ins[which][0]]["bytes"]

    coll = [e for e in inst_ev if e["name"] in COLLECTIVES]
    wrong = [e for e in coll if track_of(e) != "comm" or e["cat"] != "collective"
             or e["args"].get("bytes") != operand_bytes(e)]
    check(f"{len(coll)} collectives on the comm track with their operand's bytes", not wrong,
          str(wrong[:2]))
    others = [e for e in inst_ev if e["name"] not in COLLECTIVES | P2P and track_of(e) == "comm"]
    check("nothing but collectives and messages on the comm track", not others, str(others[:2]))
    if dict(axes).get("dp", 1) > 1:
        # Data parallel: each step all-reduces the gradient of every
        # parameter the rank holds over dp, one all-reduce each, plus scalars
        # (the loss): the bytes are the parameters' as the rank holds them.
        for r in range(nranks):
            rank = dump["ranks"][r]
            held = sorted(rank["values"][v]["bytes"] for v in rank["interface"]["parameters"]
                          if v < len(rank["values"]))
            ok, got = True, {}
            for s in range(steps):
                got[s] = sorted(e["args"]["bytes"] for e in coll
                                if e["pid"] == r and e["args"]["step"] == s and e["name"] == "all_reduce"
                                and e["args"].get("axis") == "dp")
                ok &= [b for b in got[s] if b > 4] == held and sum(got[s]) - sum(held) <= 8
            if not ok or r == 0:
                check(f"rank {r}: dp all-reduces per step = its {len(held)} gradients "
                      f"({sum(held)} B) + scalars", ok, f"{got[0][-5:]} vs {held[-5:]}")

    # Pipeline messages: comm track, their peer one stage away, matched.
    msgs = [e for e in inst_ev if e["name"] in P2P]
    if dict(axes).get("pp", 1) > 1:
        bad = []
        for e in msgs:
            ins = dump["ranks"][e["pid"]]["instructions"][e["args"]["instruction"]]
            c = coords(e["pid"], axes)
            peer_stage = ins["ints"][1]
            peer = next(q for q in range(nranks)
                        if coords(q, axes) == {**c, "pp": peer_stage})
            moved = operand_bytes(e, "operands" if e["name"] == "send" else "results")
            if (track_of(e) != "comm" or e["cat"] != "p2p" or e["args"].get("peer") != peer
                    or e["args"].get("peer_pp") != peer_stage or e["args"].get("bytes") != moved
                    or abs(peer_stage - c["pp"]) not in (1, dict(axes)["pp"] - 1)):
                bad.append(e)
        check(f"{len(msgs)} sends/receives on the comm track name their peer and bytes",
              msgs and not bad, str(bad[:2]))
        sends = collections.Counter((e["pid"], e["args"]["peer"], e["args"]["step"], e["args"]["bytes"])
                                    for e in msgs if e["name"] == "send")
        recvs = collections.Counter((e["args"]["peer"], e["pid"], e["args"]["step"], e["args"]["bytes"])
                                    for e in msgs if e["name"] == "recv")
        check("every send is matched by a receive from its peer", sends == recvs and sends)

    # One clock for all ranks (under mpirun, aligned between processes): a
    # collective cannot end on one rank before every rank of its group has
    # begun it, nor a message arrive before it was sent. The k-th collective
    # along an axis in a step is the same call on every rank of the group
    # (they call them in the same order); so is the k-th message r -> q.
    # Processes' clocks are aligned to rank 0's within a bound the trace
    # states per process; threads share one clock (bound 0).
    err = {e["pid"]: e["args"]["clock_error_us"] for e in meta if e["name"] == "process_labels"}
    if mpi:
        check(f"every rank but 0 states its clock's bound (worst {max(err.values(), default=0):.0f} us)",
              sorted(err) == list(range(1, nranks)), str(err))
    skew = lambda a, b: err.get(a["pid"], 0) + err.get(b["pid"], 0) + 1  # noqa: E731

    def group_key(r, axis):
        c = coords(r, axes)
        return (axis, tuple(v for k, v in sorted(c.items()) if k != axis))

    nth = collections.defaultdict(list)
    for e in sorted(coll, key=lambda e: e["ts"]):
        nth[(group_key(e["pid"], e["args"]["axis"]), e["args"]["step"], e["pid"])].append(e)
    calls = collections.defaultdict(list)
    for (group, step, _), evs in nth.items():
        for k, e in enumerate(evs):
            calls[(group, step, k)].append(e)
    late = [(a["pid"], b["pid"], a["name"], b["ts"] - (a["ts"] + a["dur"]))
            for evs in calls.values() for a in evs for b in evs if a["ts"] + a["dur"] < b["ts"] - skew(a, b)]
    sizes = {len(evs) for evs in calls.values()}
    check(f"each collective overlaps its group's ({len(calls)} calls)", not late and
          all(n > 1 for n in sizes), f"{late[:3]} sizes {sizes}")
    if dict(axes).get("pp", 1) > 1:
        sent, got = collections.defaultdict(list), collections.defaultdict(list)
        for e in sorted(msgs, key=lambda e: e["ts"]):
            key = (e["pid"], e["args"]["peer"]) if e["name"] == "send" else (e["args"]["peer"], e["pid"])
            (sent if e["name"] == "send" else got)[key + (e["args"]["step"],)].append(e)
        early = [(k, a["ts"], b["ts"] + b["dur"]) for k in sent for a, b in zip(sent[k], got[k])
                 if b["ts"] + b["dur"] < a["ts"] - skew(a, b)]
        check("every message is received after it was sent", not early and sent, str(early[:3]))

    # Per track: in time order, no overlap.
    by_track = collections.defaultdict(list)
    for e in xs:
        by_track[(e["pid"], e["tid"])].append(e)
    bad = []
    for key, evs in by_track.items():
        for a, b in zip(evs, evs[1:]):
            if b["ts"] < a["ts"] or a["ts"] + a["dur"] > b["ts"] + EPS_US or a["dur"] < 0:
                bad.append((key, a["name"], b["name"]))
    check(f"{len(by_track)} tracks: timestamps monotone, events do not overlap", not bad, str(bad[:3]))


def case(check, tmp, label, model, mesh, compile_flags, steps, mpi=False):
    print(f"{label}", flush=True)
    tag = os.path.join(tmp, label.replace(" ", "_").replace("=", "").replace(",", "_"))
    run([f"{args.bin}/weftc", model, "--train=adamw", f"--mesh={mesh}", *compile_flags,
         "-o", tag + ".weft"])
    dump = json.loads(run([f"{args.bin}/weft-dump", tag + ".weft", "--format=json"]).stdout)
    r = run(launcher(mpi, mesh) + [f"{args.bin}/weft-run", tag + ".weft", f"--steps={steps}",
                                   f"--trace={tag}.trace.json", f"--report={tag}.report.json"])
    check("weft-run says where the trace went and how to open it",
          f"written to {tag}.trace.json" in r.stdout and "ui.perfetto.dev" in r.stdout, r.stdout[-300:])
    check("the report records the trace", json.load(open(tag + ".report.json")).get("trace")
          == tag + ".trace.json")
    check_trace(check, tag + ".trace.json", dump, steps, mpi)
    assert ranks(mesh) == dump["num_ranks"]


def main():
    tmp = args.tmp or tempfile.mkdtemp(prefix="weft-trace-")
    os.makedirs(tmp, exist_ok=True)
    check = Checker()
    gpt4 = os.path.join(tmp, "gpt4.mlir")
    run([f"{args.bin}/weftc", "--generate=gpt", "--layers=4", "--hidden=64", "--heads=8",
         "--vocab=128", "--seq=32", "--batch=8", "-o", gpt4])
    gpt_tiny = os.path.join(EXAMPLES, "gpt_tiny.mlir")
    case(check, tmp, "gpt_tiny dp=2", gpt_tiny, "dp=2", [], 3)
    case(check, tmp, "gpt4 pp=2 1f1b", gpt4, "pp=2", ["--schedule=1f1b", "--microbatches=4"], 2)
    case(check, tmp, "gpt4 dp=2,tp=2,pp=2", gpt4, "dp=2,tp=2,pp=2", ["--microbatches=2"], 2)
    if MPIRUN:
        case(check, tmp, "gpt4 dp=2,pp=2 mpirun", gpt4, "dp=2,pp=2", ["--microbatches=2"], 2, mpi=True)
    else:
        print("note: mpirun not found, the multi-process trace was not checked")
    print(f"{check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


sys.exit(main())
