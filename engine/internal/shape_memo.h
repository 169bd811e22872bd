// Internal to the engine: what Decide() learns from a step's shape, kept
// with the scope's tables so a repeated shape costs a lookup.
//
// Within one scope's tables, the builder choice (every builder's
// admissibility, the chosen one and why), the rejected builders with their
// reasons and a deny's remediation search depend only on a small shape: the
// table index (destination, architecture, simple Dockerfile), the builder
// the step asks for (or the one Harness implies), caching and dry run.
// Nothing of the step's own strings (ids, repository, tags, registry,
// image, credentials) goes in: Decide() runs the checks that read them and
// fills them in on every call. Memoized and fresh decisions are byte for
// byte the same (tests/engine/shape_memo_test.cc).
//
// Bounded twice: one slot per possible shape (ShapeMemo::kSlots), the slot
// array allocated on first use, an outcome never replaced; and at most
// ShapeMemo::kMaxBytes per memo (the slot array included; a shape that does
// not fit is decided fresh). The tables reserve kMaxBytes in their size
// (ScopeTables::approximate_bytes), so a cache bounded in bytes bounds the
// memos of its sets however varied the steps sent.
//
// Thread-safe: Find and Publish may run on any number of threads at once
// (lock-free: an outcome is published once with a compare-and-swap and is
// immutable afterwards). Outcomes live as long as the tables.
#ifndef BUILDGATE_ENGINE_INTERNAL_SHAPE_MEMO_H_
#define BUILDGATE_ENGINE_INTERNAL_SHAPE_MEMO_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "buildgate/v1/common.pb.h"
#include "buildgate/v1/decision.pb.h"

namespace buildgate {

// The shape-only part of a decision under one scope's tables.
struct ShapeOutcome {
  // Indexes into ScopeTables::builders; -1 when none.
  int chosen = -1;     // The builder that runs the step; -1: no builder can.
  int requested = -1;  // The step's (or implied) builder, if the scope lists it.
  v1::ReasonCode why = v1::CHOSEN_AS_REQUESTED;
  // Bit b set: Builder b can run the shape (admissible and fits the step).
  uint32_t admissible_builders = 0;
  // Every builder that cannot run the shape, with its reasons (FULL view).
  std::vector<v1::RejectedBuilder> rejected_builders;
  // When no builder can: the policy changes that would admit one (FULL).
  std::vector<v1::Remediation> remediations;
};

class ShapeMemo {
 public:
  // The slot of a shape; every shape has its own.
  static int Slot(int table_index, v1::Builder requested, bool caching, bool dry_run);
  static const int kSlots;

  ShapeMemo() = default;
  ShapeMemo(const ShapeMemo&) = delete;
  ShapeMemo& operator=(const ShapeMemo&) = delete;
  ~ShapeMemo();

  // The outcome memoized for `slot`, or nullptr.
  const ShapeOutcome* Find(int slot) const;
  // Keeps `outcome` for `slot` unless another thread published one first;
  // returns the one kept. nullptr (and `outcome` left as it was) when it
  // would take the memo past kMaxBytes.
  const ShapeOutcome* Publish(int slot, std::unique_ptr<ShapeOutcome>* outcome) const;
  // How many shapes are memoized, and the bytes they and the slots hold.
  int Size() const;
  std::size_t Bytes() const { return bytes_.load(std::memory_order_relaxed); }

  static constexpr std::size_t kMaxBytes = 64 * 1024;
  // What `outcome` holds (Publish counts it against kMaxBytes).
  static std::size_t BytesOf(const ShapeOutcome& outcome);

 private:
  using Slots = std::atomic<const ShapeOutcome*>;
  // kSlots entries, allocated on the first Publish.
  mutable std::atomic<Slots*> slots_{nullptr};
  mutable std::atomic<std::size_t> bytes_{0};
};

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_INTERNAL_SHAPE_MEMO_H_
