#!/usr/bin/env python3
"""The PyTorch peers: the GPT-2 training step in eager mode with autocast
bf16 (fp32 master weights, bf16 matmuls, fp32 accumulation), and the same
model under torch.compile. Attention is PyTorch's fused SDPA (flash) kernel;
the optimizer is torch.optim.AdamW (its default foreach implementation).

Usage: torch_peer.py --mode eager|compile [--smoke] [--out results.jsonl]
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402
import workload  # noqa: E402

a = timing.peer_args(__doc__, extra=lambda ap: ap.add_argument("--mode", choices=["eager", "compile"],
                                                                 required=True))

c = workload.SMOKE if a.smoke else workload.FULL
dev = "cuda" if torch.cuda.is_available() else "cpu"
if dev == "cpu" and not a.smoke:
    sys.exit("torch_peer.py: no CUDA GPU for PyTorch (use --smoke to check the code on a CPU)")
L, D, H, V, S, B = (c[k] for k in ("layers", "hidden", "heads", "vocab", "seq", "batch"))
Dh = D // H


class Gpt(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # Names with dots are not parameter names: keep a flat, ordered dict.
        self.p = torch.nn.ParameterDict(
            {k.replace(".", "_"): torch.nn.Parameter(torch.from_numpy(v))
             for k, v in workload.init(c).items()})

    def forward(self, tokens, labels):
        p = lambda n: self.p[n.replace(".", "_")]  # noqa: E731
        h = p("wte")[tokens] + p("wpe")
        for l in range(L):
            x = F.layer_norm(h, (D,), p(f"{l}.ln1_g"), p(f"{l}.ln1_b"))
            q, k, v = (F.linear(x, p(f"{l}.{n}.w").t(), p(f"{l}.{n}.b")).view(B, S, H, Dh).transpose(1, 2)
                       for n in "qkv")
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1 / math.sqrt(Dh))
            h = h + F.linear(y.transpose(1, 2).reshape(B, S, D), p(f"{l}.o.w").t(), p(f"{l}.o.b"))
            x = F.layer_norm(h, (D,), p(f"{l}.ln2_g"), p(f"{l}.ln2_b"))
            x = F.gelu(F.linear(x, p(f"{l}.fc.w").t(), p(f"{l}.fc.b")), approximate="tanh")
            h = h + F.linear(x, p(f"{l}.proj.w").t(), p(f"{l}.proj.b"))
        logits = F.linear(F.layer_norm(h, (D,), p("lnf_g"), p("lnf_b")), p("wte"))
        return F.cross_entropy(logits.view(-1, V).float(), labels.reshape(-1))


model = Gpt().to(dev)
o = workload.ADAMW
opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["b1"], o["b2"]), eps=o["eps"],
                        weight_decay=o["wd"])
fwd = torch.compile(model) if a.mode == "compile" else model
tokens, labels = (torch.from_numpy(t).long().to(dev) for t in workload.batch(c))
losses = []


def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast(dev, dtype=torch.bfloat16):
        loss = fwd(tokens, labels)
    loss.backward()
    opt.step()
    losses.append(loss.detach())


sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
if dev == "cuda":
    torch.cuda.reset_peak_memory_stats()
median, times = timing.median_step_s(step, sync, a.warmup, a.steps)
losses = [float(x) for x in losses]
if not all(math.isfinite(x) for x in losses):
    sys.exit(f"torch_peer.py: non-finite loss {losses}")
timing.emit(a.out, {
    "peer": f"pytorch_{a.mode}", "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
    "version": torch.__version__, "config": c, "step_s": median, "steps_s": times,
    "tokens_per_s": workload.tokens_per_step(c) / median,
    "flops_per_step": workload.train_flops(c),
    "peak_bytes": torch.cuda.max_memory_allocated() if dev == "cuda" else None,
    "loss_first": losses[0], "loss_last": losses[-1],
})
