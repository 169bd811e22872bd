// The one place absl::Status becomes grpc::Status.
//
// Thread-safe: pure.
#ifndef BUILDGATE_SERVICE_GRPC_STATUS_H_
#define BUILDGATE_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace buildgate {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_GRPC_STATUS_H_
