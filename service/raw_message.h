// Decoding and encoding the raw bytes of a gRPC call as protobuf messages,
// with errors buildgate can answer: a request that does not decode is an
// INVALID_ARGUMENT naming the field protobuf complained about (a string
// that is not UTF-8, say), never gRPC's bare UNIMPLEMENTED.
//
// Thread-safe: protobuf's parse errors are captured per thread, through a
// process-wide protobuf log handler installed once, when the service is
// constructed (InstallProtobufLogCapture), never by a request.
#ifndef BUILDGATE_SERVICE_RAW_MESSAGE_H_
#define BUILDGATE_SERVICE_RAW_MESSAGE_H_

#include <string>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "buildgate/v1/service.pb.h"
#include "google/protobuf/message.h"

namespace buildgate {

// Routes protobuf's log messages through buildgate's handler: a message
// logged while this thread runs ParseRawMessage becomes that call's error,
// every other one is printed as protobuf prints it. Idempotent;
// BuildGateService's constructor calls it.
void InstallProtobufLogCapture();

// Parses `bytes` into `out` (after InstallProtobufLogCapture; without it the
// error says only "malformed protobuf"). kInvalidArgument: "request: not a valid
// buildgate.v1.DecideRequest: invalid UTF-8 in string field
// buildgate.v1.BuildStep.repo" (or "malformed protobuf").
absl::Status ParseRawMessage(const grpc::ByteBuffer& bytes, google::protobuf::Message* out);

// Serializes `message` into `out`.
grpc::Status SerializeRawMessage(const google::protobuf::Message& message, grpc::ByteBuffer* out);

// Empties a message for reuse by the next call on this thread. A
// DecideResponse keeps its Decision (and everything inside it) allocated.
inline void ResetForReuse(google::protobuf::Message* message) { message->Clear(); }
inline void ResetForReuse(v1::DecideResponse* response) {
  response->clear_decision_id();
  if (response->has_decision()) response->mutable_decision()->Clear();
}

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_RAW_MESSAGE_H_
