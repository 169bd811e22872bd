// The one place absl::Status becomes grpc::Status.
//
// Thread-safe: pure.
#ifndef BUILDGATE_SERVICE_GRPC_STATUS_H_
#define BUILDGATE_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace buildgate {

// Longest status message sent (bytes); errors quote input through
// QuoteInput already, this is the backstop that keeps any message within
// what gRPC's metadata allows.
inline constexpr std::size_t kMaxStatusMessageBytes = 1024;

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  absl::string_view message = status.message();
  std::string text(message.substr(0, kMaxStatusMessageBytes));
  if (message.size() > kMaxStatusMessageBytes) {
    // Never end inside a UTF-8 sequence.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
    text.append("…(truncated)");
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::move(text));
}

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_GRPC_STATUS_H_
