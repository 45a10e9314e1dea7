// Built when MPI is not: the runtime still links, and says what is missing.
#include "runtime/collectives/communicator.h"

namespace weft {

bool LaunchedUnderMpi() { return false; }

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(double) {
  return absl::UnimplementedError(
      "this runtime was built without MPI (install libopenmpi-dev and rebuild)");
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiSubCommunicator(int, int, double) {
  return CreateMpiCommunicator();
}

}  // namespace weft
