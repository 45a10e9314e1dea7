"""What the multi-device end-to-end tests share: running a command with a
time limit (its output shown on failure), launching ranks as threads or
under mpirun, and the relative error they compare with."""
import shutil, subprocess

import numpy as np

MPIRUN = shutil.which("mpirun")


def run(cmd, timeout=300):
    """Runs a command; on failure or a hang (no run here takes a tenth of
    `timeout`) shows its output (for CI logs) before raising."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        print(f"command hung for {timeout} s: {' '.join(cmd)}\n--- stdout\n{(e.stdout or b'')[-3000:]}"
              f"\n--- stderr\n{(e.stderr or b'')[-3000:]}", flush=True)
        raise
    if r.returncode != 0:
        print(f"command failed ({r.returncode}): {' '.join(cmd)}\n--- stdout\n{r.stdout[-3000:]}"
              f"\n--- stderr\n{r.stderr[-3000:]}", flush=True)
        raise subprocess.CalledProcessError(r.returncode, cmd)
    return r


def ranks(mesh):
    """The devices of a mesh such as "dp=2,tp=2"."""
    return int(np.prod([int(axis.split("=")[1]) for axis in mesh.split(",")]))


def launcher(mpi, mesh):
    """One process per rank under mpirun, or all ranks as threads."""
    return [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks(mesh))] if mpi else []


def rel(a, b):
    """max |a - b| relative to max |b|."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-6))
