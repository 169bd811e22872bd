// ReusingMessageAllocator: a gRPC callback-API message allocator that hands
// out request/response pairs from a free list and takes them back reset.
// `reset_response` must empty the response while keeping its nested
// messages (protobuf's Clear() deletes singular sub-messages, but clearing
// the sub-message itself keeps its repeated elements and string capacity), so
// a steady stream of similar calls stops allocating for its responses.
//
// One free list for all threads: gRPC allocates a call's messages on the
// thread that reads the request and releases them on another, so per-thread
// lists would drain on one side and overflow on the other. The lock is held
// only to push or pop a pointer.
//
// Thread-safe.
#ifndef BUILDGATE_SERVICE_MESSAGE_POOL_H_
#define BUILDGATE_SERVICE_MESSAGE_POOL_H_

#include <memory>
#include <mutex>
#include <vector>

#include <grpcpp/support/message_allocator.h>

namespace buildgate {

template <typename Request, typename Response>
class ReusingMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  using ResetFn = void (*)(Response*);
  explicit ReusingMessageAllocator(ResetFn reset_response) : reset_response_(reset_response) {}

  // Most cleared pairs kept (about the most calls in flight worth serving
  // without allocating).
  static constexpr std::size_t kMaxFree = 4096;

  ~ReusingMessageAllocator() override {
    for (Holder* h : free_) delete h;
  }

  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        Holder* h = free_.back();
        free_.pop_back();
        return h;
      }
    }
    return new Holder(this);
  }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    explicit Holder(ReusingMessageAllocator* pool) : pool_(pool) {
      this->set_request(&request_);
      this->set_response(&response_);
    }
    void Release() override {
      request_.Clear();
      pool_->reset_response_(&response_);
      pool_->Return(this);
    }

   private:
    ReusingMessageAllocator* const pool_;
    Request request_;
    Response response_;
  };

  void Return(Holder* h) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (free_.size() < kMaxFree) {
        free_.push_back(h);
        return;
      }
    }
    delete h;
  }

  const ResetFn reset_response_;
  std::mutex mu_;
  std::vector<Holder*> free_;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_MESSAGE_POOL_H_
