#include "store/policy_handle.h"

#include <vector>

namespace buildgate {
namespace {

// This thread's live handles (a trivial thread_local: no initialisation
// guard on the request path) and what their sets' per-thread owners dropped
// while they lived (touched only when something is dropped).
thread_local int t_live_handles = 0;
thread_local bool t_kept_any = false;

std::vector<std::shared_ptr<const void>>& Kept() {
  thread_local std::vector<std::shared_ptr<const void>> kept;
  return kept;
}

}  // namespace

PolicyHandle::PolicyHandle(const CompiledPolicySet* set) : set_(set) {
  if (set_ != nullptr) ++t_live_handles;
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
  if (--t_live_handles == 0 && t_kept_any) {
    Kept().clear();
    t_kept_any = false;
  }
}

void KeepWhileHandlesLive(std::shared_ptr<const void> owner) {
  if (t_live_handles > 0 && owner != nullptr) {
    Kept().push_back(std::move(owner));
    t_kept_any = true;
  }
}

std::size_t OwnersKeptForHandles() { return t_kept_any ? Kept().size() : 0; }

}  // namespace buildgate
