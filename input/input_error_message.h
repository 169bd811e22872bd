// A failed absl::Status as the buildgate.v1.InputError message that every
// output carries: the JSON error object of the CLI, LintedFile.error, the
// InputError detail beside google.rpc.BadRequest in gRPC errors, the
// ValidatePolicy response and the policy store's FileError. The message as
// people read it, and the file, line, column, field and value of its payload
// (common/input_error.h); unknown ones are left unset.
//
// Thread-safe: pure.
#ifndef BUILDGATE_INPUT_INPUT_ERROR_MESSAGE_H_
#define BUILDGATE_INPUT_INPUT_ERROR_MESSAGE_H_

#include "absl/status/status.h"
#include "buildgate/v1/common.pb.h"

namespace buildgate {

// Empty for an OK status.
v1::InputError InputErrorMessage(const absl::Status& status);

}  // namespace buildgate

#endif  // BUILDGATE_INPUT_INPUT_ERROR_MESSAGE_H_
