// Test helper for the MPI timeout (tests/lit/runtime/mpi_timeout.test): run
// as `mpirun -np 2 weft-mpi-hang-helper CALL TIMEOUT_S`. Rank 1 plays a
// rank that hangs: it sleeps instead of taking part, while rank 0 makes
// CALL. Rank 0 must give up after TIMEOUT_S and end the job; if its call
// ever returns, the helper says so and exits 0, which fails the test.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "runtime/collectives/communicator.h"

using namespace weft;

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: weft-mpi-hang-helper CALL TIMEOUT_S\n");
    return 2;
  }
  const std::string call = argv[1];
  const double timeout_s = std::atof(argv[2]);
  auto world = CreateMpiCommunicator(timeout_s);
  if (!world.ok()) {
    std::fprintf(stderr, "%s\n", std::string(world.status().message()).c_str());
    return 2;
  }
  Communicator &comm = **world;
  if (comm.size() != 2) {
    std::fprintf(stderr, "run under mpirun -np 2\n");
    return 2;
  }
  // Everyone is up before rank 1 stops taking part.
  if (!comm.Barrier().ok()) return 2;
  if (comm.rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(300));
    return 0;
  }
  // A send of 16 MB: small ones may complete before the peer receives.
  const int64_t count = call == "send" ? 4 << 20 : 1024;
  std::vector<float> a(count * 2, 1.0f), b(count * 2);
  absl::Status s;
  if (call == "allreduce") s = comm.AllReduce(a.data(), b.data(), count, DType::kF32, ReduceKind::kSum);
  else if (call == "allgather") s = comm.AllGather(a.data(), b.data(), count, DType::kF32);
  else if (call == "reducescatter") s = comm.ReduceScatter(a.data(), b.data(), count, DType::kF32, ReduceKind::kSum);
  else if (call == "broadcast") s = comm.Broadcast(a.data(), count, DType::kF32, 1);
  else if (call == "alltoall") s = comm.AllToAll(a.data(), b.data(), count, DType::kF32);
  else if (call == "send") {  // buffered: the wait for the peer is in FinishSends
    s = comm.Send(a.data(), count, DType::kF32, 1);
    if (s.ok()) s = comm.FinishSends();
  }
  else if (call == "recv") s = comm.Recv(a.data(), count, DType::kF32, 1);
  else if (call == "barrier") s = comm.Barrier();
  else if (call == "split") s = CreateMpiSubCommunicator(0, 0, timeout_s).status();
  else {
    std::fprintf(stderr, "unknown call '%s'\n", call.c_str());
    return 2;
  }
  std::printf("rank 0: %s returned: %s\n", call.c_str(), s.ToString().c_str());
  return 0;
}
