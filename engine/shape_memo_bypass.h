// The engine's one testing seam: decide without the shape memo.
//
// Decide() memoizes what it learns from a step's shape in the policy set's
// own tables (engine/compiled_policy.h). Tests comparing memoized and fresh
// decisions, the corpus runner and the benchmarks measuring the unmemoized
// cost need every decision computed from scratch; nothing else should.
//
// Thread-safe: a bypass is per thread (it changes nothing on other threads).
#ifndef BUILDGATE_ENGINE_SHAPE_MEMO_BYPASS_H_
#define BUILDGATE_ENGINE_SHAPE_MEMO_BYPASS_H_

namespace buildgate {

// While one is alive on a thread, Decide() on that thread neither reads nor
// fills any memo: every decision is computed fresh.
class ShapeMemoBypass {
 public:
  ShapeMemoBypass();
  ~ShapeMemoBypass();
  ShapeMemoBypass(const ShapeMemoBypass&) = delete;
  ShapeMemoBypass& operator=(const ShapeMemoBypass&) = delete;
  // True while a bypass is alive on this thread.
  static bool Active();

 private:
  bool previous_;
};

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_SHAPE_MEMO_BYPASS_H_
