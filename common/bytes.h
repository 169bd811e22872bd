// Byte tests eight bytes at a time ("SWAR": SIMD within a register), for the
// scans that run on every request (step validation, decision log lines).
// Most text needs no special handling; these answer "is there anything
// special in these eight bytes?" with a few arithmetic instructions, and
// the caller looks byte by byte only where the answer is yes.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_COMMON_BYTES_H_
#define BUILDGATE_COMMON_BYTES_H_

#include <cstdint>
#include <cstring>

namespace buildgate {
namespace bytes {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// Whether any byte of `x` is below `n` (n <= 128; bytes >= 0x80 never
// count). A borrow can only spill past a byte that already matched, so
// "any" is exact.
inline bool AnyByteBelow(uint64_t x, unsigned char n) {
  return ((x - kOnes * n) & ~x & kHighs) != 0;
}

// Whether any byte of `x` equals `b`.
inline bool AnyByteIs(uint64_t x, unsigned char b) { return AnyByteBelow(x ^ (kOnes * b), 1); }

// The eight bytes at `p` (unaligned).
inline uint64_t Load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, sizeof(x));
  return x;
}

}  // namespace bytes
}  // namespace buildgate

#endif  // BUILDGATE_COMMON_BYTES_H_
