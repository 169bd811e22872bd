#include "engine/internal/shape_memo.h"
#include "engine/shape_memo_bypass.h"

#include "engine/internal/compiled_tables.h"

namespace buildgate {
namespace {
thread_local bool t_bypass = false;
}  // namespace

const int ShapeMemo::kSlots = CompiledBuilder::kTableSize * v1::Builder_ARRAYSIZE * 4;

int ShapeMemo::Slot(int table_index, v1::Builder requested, bool caching, bool dry_run) {
  return ((table_index * v1::Builder_ARRAYSIZE + static_cast<int>(requested)) * 2 +
          (caching ? 1 : 0)) * 2 +
         (dry_run ? 1 : 0);
}

ShapeMemo::~ShapeMemo() {
  Slots* slots = slots_.load(std::memory_order_acquire);
  if (slots == nullptr) return;
  for (int i = 0; i < kSlots; ++i) delete slots[i].load(std::memory_order_relaxed);
  delete[] slots;
}

const ShapeOutcome* ShapeMemo::Find(int slot) const {
  const Slots* slots = slots_.load(std::memory_order_acquire);
  return slots == nullptr ? nullptr : slots[slot].load(std::memory_order_acquire);
}

std::size_t ShapeMemo::BytesOf(const ShapeOutcome& o) {
  std::size_t bytes = sizeof(ShapeOutcome);
  for (const auto& rb : o.rejected_builders) bytes += rb.SpaceUsedLong();
  for (const auto& r : o.remediations) bytes += r.SpaceUsedLong();
  return bytes;
}

const ShapeOutcome* ShapeMemo::Publish(int slot, std::unique_ptr<ShapeOutcome>* outcome) const {
  // Reserve the bytes first; give them back if another thread wins the slot.
  const std::size_t need = BytesOf(**outcome);
  std::size_t used = bytes_.load(std::memory_order_relaxed);
  Slots* slots = slots_.load(std::memory_order_acquire);
  const std::size_t array_bytes = slots == nullptr ? sizeof(Slots) * kSlots : 0;
  do {
    if (used + need + array_bytes > kMaxBytes) return nullptr;
  } while (!bytes_.compare_exchange_weak(used, used + need + array_bytes, std::memory_order_relaxed));
  if (slots == nullptr) {
    auto* fresh = new Slots[kSlots];
    for (int i = 0; i < kSlots; ++i) fresh[i].store(nullptr, std::memory_order_relaxed);
    if (slots_.compare_exchange_strong(slots, fresh, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      slots = fresh;
    } else {
      delete[] fresh;  // Another thread's array won (and counted itself).
      bytes_.fetch_sub(array_bytes, std::memory_order_relaxed);
    }
  }
  const ShapeOutcome* expected = nullptr;
  if (slots[slot].compare_exchange_strong(expected, outcome->get(), std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
    return outcome->release();
  }
  bytes_.fetch_sub(need, std::memory_order_relaxed);
  return expected;  // Another thread's outcome (the same, computed twice).
}

int ShapeMemo::Size() const {
  const Slots* slots = slots_.load(std::memory_order_acquire);
  int n = 0;
  for (int i = 0; slots != nullptr && i < kSlots; ++i) {
    if (slots[i].load(std::memory_order_acquire) != nullptr) ++n;
  }
  return n;
}

ShapeMemoBypass::ShapeMemoBypass() : previous_(t_bypass) { t_bypass = true; }
ShapeMemoBypass::~ShapeMemoBypass() { t_bypass = previous_; }
bool ShapeMemoBypass::Active() { return t_bypass; }

}  // namespace buildgate
