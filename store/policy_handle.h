// PolicyHandle: a compiled policy set held for the length of one call, the
// one way the policy store and the compiled-set cache hand out a set.
//
// The request path finds sets through per-thread copies (the store's
// snapshot, the cache's front cache) so that a hit writes no memory another
// thread reads: no shared reference count is touched. A handle keeps that
// property and still owns its set: while any handle is alive on a thread,
// whatever the thread's copies would drop (a newer snapshot replacing the
// old one, a full front cache emptied) is kept alive on that thread until
// its last handle goes. So a call may hold several handles at once (a diff
// of two sets) and each stays valid for as long as it lives.
//
// Thread-safety: a handle belongs to the thread that made it; make, use and
// drop it within one call on one thread (the set it points to may be read
// from anywhere, as every CompiledPolicySet). Moving a handle to another
// thread is a bug.
#ifndef BUILDGATE_STORE_POLICY_HANDLE_H_
#define BUILDGATE_STORE_POLICY_HANDLE_H_

#include <memory>

#include "engine/compiled_policy.h"

namespace buildgate {

class PolicyHandle {
 public:
  PolicyHandle() = default;  // Empty: no set.
  PolicyHandle(PolicyHandle&& other) noexcept : set_(other.set_) { other.set_ = nullptr; }
  PolicyHandle& operator=(PolicyHandle&& other) noexcept;
  PolicyHandle(const PolicyHandle&) = delete;
  PolicyHandle& operator=(const PolicyHandle&) = delete;
  ~PolicyHandle() {
    if (set_ != nullptr) Release();
  }

  explicit operator bool() const { return set_ != nullptr; }
  const CompiledPolicySet& operator*() const { return *set_; }
  const CompiledPolicySet* operator->() const { return set_; }
  const CompiledPolicySet* get() const { return set_; }

 private:
  friend class CompiledPolicyCache;
  friend class PolicyStore;
  // For the store and the cache: `set` is owned by a per-thread copy of this
  // thread, which hands whatever it drops to KeepWhileHandlesLive.
  explicit PolicyHandle(const CompiledPolicySet* set);
  void Release();

  const CompiledPolicySet* set_ = nullptr;
};

// For the store and the cache: a per-thread copy calls this with each owner
// it is about to drop. While handles are alive on this thread, `owner` is
// kept until the last of them goes; otherwise it is dropped now.
void KeepWhileHandlesLive(std::shared_ptr<const void> owner);

// How many owners this thread keeps for its live handles (tests).
std::size_t OwnersKeptForHandles();

}  // namespace buildgate

#endif  // BUILDGATE_STORE_POLICY_HANDLE_H_
