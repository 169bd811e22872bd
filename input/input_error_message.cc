#include "input/input_error_message.h"

#include <string>

#include "common/input_error.h"

namespace buildgate {

v1::InputError InputErrorMessage(const absl::Status& status) {
  v1::InputError error;
  if (status.ok()) return error;
  const InputLocation location = GetInputLocation(status);
  error.set_message(std::string(status.message()));
  error.set_file(location.file);
  error.set_line(location.line);
  error.set_column(location.column);
  error.set_field(location.field);
  error.set_value(location.value);
  return error;
}

}  // namespace buildgate
