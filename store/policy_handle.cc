#include "store/policy_handle.h"

#include <vector>

namespace buildgate {
namespace {

// This thread's live handles and what their sets' per-thread owners dropped
// while they lived.
struct ThreadHandles {
  int live = 0;
  std::vector<std::shared_ptr<const void>> kept;
};

ThreadHandles& Local() {
  thread_local ThreadHandles handles;
  return handles;
}

}  // namespace

PolicyHandle::PolicyHandle(const CompiledPolicySet* set) : set_(set) {
  if (set_ != nullptr) ++Local().live;
}

PolicyHandle& PolicyHandle::operator=(PolicyHandle&& other) noexcept {
  if (this != &other) {
    Release();
    set_ = other.set_;
    other.set_ = nullptr;
  }
  return *this;
}

void PolicyHandle::Release() {
  if (set_ == nullptr) return;
  set_ = nullptr;
  ThreadHandles& handles = Local();
  if (--handles.live == 0) handles.kept.clear();
}

void KeepWhileHandlesLive(std::shared_ptr<const void> owner) {
  ThreadHandles& handles = Local();
  if (handles.live > 0 && owner != nullptr) handles.kept.push_back(std::move(owner));
}

std::size_t OwnersKeptForHandles() { return Local().kept.size(); }

}  // namespace buildgate
