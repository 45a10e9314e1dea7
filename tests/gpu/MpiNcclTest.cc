// The nccl communicator across processes: `mpirun -np N weft-mpi-nccl-test`
// (ctest runs N = 2), one rank per process on GPU (local rank), NCCL's
// unique id bootstrapped through the MPI communicator. Skips, saying why,
// where there are fewer GPUs than processes on the node.
#include <cstdlib>

#include "../runtime/CommunicatorChecks.h"
#include "HostStaged.h"
#include "RequireGpu.h"
#include "runtime/collectives/nccl.h"

namespace weft {
namespace {

using namespace conformance;

TEST(MpiNccl, EveryCollectiveAcrossProcesses) {
  auto world = CreateMpiCommunicator(/*timeout_s=*/120);
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_GT((*world)->size(), 1) << "run under mpirun -np N with N > 1";
  const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  const char *local_size = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  WEFT_REQUIRE_GPUS(local_size ? std::atoi(local_size) : (*world)->size());
  auto nccl = CreateNcclCommunicator(**world, local ? std::atoi(local) : (*world)->rank(), 120);
  ASSERT_TRUE(nccl.ok()) << nccl.status();
  HostStaged comm(**nccl);
  for (auto [count, dtype] : std::vector<std::pair<int64_t, DType>>{
           {7, DType::kF32}, {1001, DType::kF32}, {13, DType::kBF16}, {6, DType::kI64}}) {
    const Case c{comm.size(), count, dtype};
    SCOPED_TRACE(CaseName(c));
    CheckAllReduce(comm.rank(), comm, c);
    CheckAllGather(comm.rank(), comm, c);
    CheckReduceScatter(comm.rank(), comm, c);
    CheckBroadcast(comm.rank(), comm, c);
    CheckAllToAll(comm.rank(), comm, c);
    CheckSendRecvChain(comm.rank(), comm, c);
  }
  ASSERT_TRUE(comm.Barrier().ok());
}

}  // namespace
}  // namespace weft
