// The Communicator conformance checks, shared by the in-process harness
// (CommunicatorTest.cc: ranks on threads) and the MPI harness
// (MpiCommunicatorTest.cc: ranks as processes under mpirun). Each check runs
// on one rank and compares with values computed here.
#ifndef WEFT_TESTS_RUNTIME_COMMUNICATORCHECKS_H
#define WEFT_TESTS_RUNTIME_COMMUNICATORCHECKS_H

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/collectives/communicator.h"
#include "runtime/cpu/kernels.h"

namespace weft::conformance {

struct Case {
  int ranks;
  int64_t count;
  DType dtype;
};

inline std::string CaseName(const Case &c) {
  return std::to_string(c.ranks) + "ranks_" + std::to_string(c.count) + "_" + DTypeName(c.dtype);
}
// gtest prints a parameter with this rather than as raw bytes.
inline void PrintTo(const Case &c, std::ostream *os) { *os << CaseName(c); }

// A value that is exact in every dtype (small integers), distinct per rank.
inline double ValueOf(int rank, int64_t i) { return static_cast<double>((rank * 7 + i * 3) % 23) - 11; }

inline void Put(Tensor &t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::kF32: t.data_as<float>()[i] = static_cast<float>(v); break;
    case DType::kBF16: t.data_as<uint16_t>()[i] = cpu::F32ToBf16(static_cast<float>(v)); break;
    case DType::kF16: t.data_as<uint16_t>()[i] = cpu::F32ToF16(static_cast<float>(v)); break;
    case DType::kI32: t.data_as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::kI64: t.data_as<int64_t>()[i] = static_cast<int64_t>(v); break;
  }
}
inline double Get(const Tensor &t, int64_t i) {
  switch (t.dtype()) {
    case DType::kF32: return t.data_as<float>()[i];
    case DType::kBF16: return cpu::Bf16ToF32(t.data_as<uint16_t>()[i]);
    case DType::kF16: return cpu::F16ToF32(t.data_as<uint16_t>()[i]);
    case DType::kI32: return t.data_as<int32_t>()[i];
    case DType::kI64: return static_cast<double>(t.data_as<int64_t>()[i]);
  }
  return 0;
}

inline void CheckAllReduce(int r, Communicator &comm, const Case &c) {
  for (ReduceKind kind : {ReduceKind::kSum, ReduceKind::kMax, ReduceKind::kMin, ReduceKind::kAverage}) {
    if (kind == ReduceKind::kAverage && (c.dtype == DType::kI32 || c.dtype == DType::kI64)) continue;
    Tensor t(c.dtype, {c.count});
    for (int64_t i = 0; i < c.count; ++i) Put(t, i, ValueOf(r, i));
    ASSERT_TRUE(comm.AllReduce(t.data(), t.data(), c.count, c.dtype, kind).ok());  // in place
    for (int64_t i = 0; i < c.count; ++i) {
      double want = ValueOf(0, i);
      for (int s = 1; s < c.ranks; ++s) {
        double v = ValueOf(s, i);
        want = kind == ReduceKind::kMax   ? std::max(want, v)
               : kind == ReduceKind::kMin ? std::min(want, v)
                                          : want + v;
      }
      if (kind == ReduceKind::kAverage) want /= c.ranks;
      const double tol = c.dtype == DType::kBF16 ? 0.05 * std::abs(want) + 0.05 : 1e-3;
      ASSERT_NEAR(Get(t, i), want, tol) << "rank " << r << " element " << i;
    }
  }
}

inline void CheckAllGather(int r, Communicator &comm, const Case &c) {
  Tensor send(c.dtype, {c.count}), recv(c.dtype, {c.count * c.ranks});
  for (int64_t i = 0; i < c.count; ++i) Put(send, i, ValueOf(r, i));
  ASSERT_TRUE(comm.AllGather(send.data(), recv.data(), c.count, c.dtype).ok());
  Tensor want(c.dtype, {c.count * c.ranks});
  for (int s = 0; s < c.ranks; ++s)
    for (int64_t i = 0; i < c.count; ++i) Put(want, s * c.count + i, ValueOf(s, i));
  for (int64_t i = 0; i < c.count * c.ranks; ++i) ASSERT_EQ(Get(recv, i), Get(want, i));
}

inline void CheckReduceScatter(int r, Communicator &comm, const Case &c) {
  Tensor send(c.dtype, {c.count * c.ranks}), recv(c.dtype, {c.count});
  for (int64_t i = 0; i < c.count * c.ranks; ++i) Put(send, i, ValueOf(r, i));
  ASSERT_TRUE(comm.ReduceScatter(send.data(), recv.data(), c.count, c.dtype, ReduceKind::kSum).ok());
  for (int64_t i = 0; i < c.count; ++i) {
    double want = 0;
    for (int s = 0; s < c.ranks; ++s) want += ValueOf(s, r * c.count + i);
    ASSERT_NEAR(Get(recv, i), want, c.dtype == DType::kBF16 ? 0.5 : 1e-3);
  }
}

inline void CheckBroadcast(int r, Communicator &comm, const Case &c) {
  Tensor t(c.dtype, {c.count});
  for (int64_t i = 0; i < c.count; ++i) Put(t, i, ValueOf(r, i));
  ASSERT_TRUE(comm.Broadcast(t.data(), c.count, c.dtype, c.ranks - 1).ok());
  Tensor want(c.dtype, {c.count});
  for (int64_t i = 0; i < c.count; ++i) Put(want, i, ValueOf(c.ranks - 1, i));
  for (int64_t i = 0; i < c.count; ++i) ASSERT_EQ(Get(t, i), Get(want, i));
}

inline void CheckAllToAll(int r, Communicator &comm, const Case &c) {
  Tensor send(c.dtype, {c.count * c.ranks}), recv(c.dtype, {c.count * c.ranks});
  // Slice j of rank r's send carries (r, j) in its values.
  for (int j = 0; j < c.ranks; ++j)
    for (int64_t i = 0; i < c.count; ++i) Put(send, j * c.count + i, ValueOf(r, j * 5 + i));
  ASSERT_TRUE(comm.AllToAll(send.data(), recv.data(), c.count, c.dtype).ok());
  Tensor want(c.dtype, {c.count * c.ranks});
  for (int s = 0; s < c.ranks; ++s)
    for (int64_t i = 0; i < c.count; ++i) Put(want, s * c.count + i, ValueOf(s, r * 5 + i));
  for (int64_t i = 0; i < c.count * c.ranks; ++i) ASSERT_EQ(Get(recv, i), Get(want, i));
}

// A ring: every rank sends two messages to the next and receives two from
// the previous, in order; the pattern of a pipeline's activations and grads.
inline void CheckSendRecvRing(int r, Communicator &comm, const Case &c) {
  if (c.ranks < 2) return;
  const int next = (r + 1) % c.ranks, prev = (r + c.ranks - 1) % c.ranks;
  for (int m = 0; m < 2; ++m) {
    Tensor out(c.dtype, {c.count});
    for (int64_t i = 0; i < c.count; ++i) Put(out, i, ValueOf(r + m, i));
    ASSERT_TRUE(comm.Send(out.data(), c.count, c.dtype, next).ok());
  }
  for (int m = 0; m < 2; ++m) {
    Tensor in(c.dtype, {c.count}), want(c.dtype, {c.count});
    ASSERT_TRUE(comm.Recv(in.data(), c.count, c.dtype, prev).ok());
    for (int64_t i = 0; i < c.count; ++i) Put(want, i, ValueOf(prev + m, i));
    for (int64_t i = 0; i < c.count; ++i) ASSERT_EQ(Get(in, i), Get(want, i)) << "message " << m;
  }
  ASSERT_TRUE(comm.Barrier().ok());
}

// Sends do not wait for their receives: every rank sends a message too
// large for MPI's eager protocol (4 MB) to the next rank before any rank
// receives, and overwrites its buffer at once. With a send that waits for
// the receive (MPI_Send's rendezvous) the ring deadlocks until the timeout.
inline void CheckSendsDoNotWait(int r, Communicator &comm) {
  const int ranks = comm.size();
  if (ranks < 2) return;
  const int64_t count = 1 << 20;
  const int next = (r + 1) % ranks, prev = (r + ranks - 1) % ranks;
  std::vector<float> out(count), in(count);
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(r * 1000 + i % 997);
  ASSERT_TRUE(comm.Send(out.data(), count, DType::kF32, next).ok());
  std::fill(out.begin(), out.end(), -1.0f);  // the message was copied: this must not reach it
  ASSERT_TRUE(comm.Recv(in.data(), count, DType::kF32, prev).ok());
  for (int64_t i = 0; i < count; ++i)
    ASSERT_EQ(in[i], static_cast<float>(prev * 1000 + i % 997)) << "element " << i;
  ASSERT_TRUE(comm.FinishSends().ok());
  ASSERT_TRUE(comm.Barrier().ok());
}

// The same messages where a Send may wait for its Recv (NCCL always, MPI for
// large messages): rank 0 sends first and then receives, every other rank
// receives first and then sends, so each Send meets a posted Recv.
inline void CheckSendRecvChain(int r, Communicator &comm, const Case &c) {
  if (c.ranks < 2) return;
  const int next = (r + 1) % c.ranks, prev = (r + c.ranks - 1) % c.ranks;
  auto send = [&] {
    for (int m = 0; m < 2; ++m) {
      Tensor out(c.dtype, {c.count});
      for (int64_t i = 0; i < c.count; ++i) Put(out, i, ValueOf(r + m, i));
      ASSERT_TRUE(comm.Send(out.data(), c.count, c.dtype, next).ok());
    }
  };
  auto receive = [&] {
    for (int m = 0; m < 2; ++m) {
      Tensor in(c.dtype, {c.count}), want(c.dtype, {c.count});
      ASSERT_TRUE(comm.Recv(in.data(), c.count, c.dtype, prev).ok());
      for (int64_t i = 0; i < c.count; ++i) Put(want, i, ValueOf(prev + m, i));
      for (int64_t i = 0; i < c.count; ++i) ASSERT_EQ(Get(in, i), Get(want, i)) << "message " << m;
    }
  };
  if (r == 0) {
    send();
    receive();
  } else {
    receive();
    send();
  }
  ASSERT_TRUE(comm.Barrier().ok());
}

}  // namespace weft::conformance

#endif
