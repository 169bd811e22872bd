#include "engine/limits.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace buildgate {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Status LimitError(absl::string_view path, absl::string_view what, absl::string_view flag,
                        std::size_t limit) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": ", what, " (limit ", flag, " = ", limit, ")"));
}

absl::Status CheckString(absl::string_view value, const std::string& path,
                         const InputLimits& limits) {
  if (value.size() > limits.max_string_bytes) {
    return LimitError(path, absl::StrCat("string of ", value.size(), " bytes is too long"),
                      kMaxStringBytesFlag, limits.max_string_bytes);
  }
  if (std::size_t bad = FindInvalidUtf8(value); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid UTF-8 at byte ", bad, " of the value"));
  }
  return absl::OkStatus();
}

absl::Status Check(const Message& msg, const std::string& path, int depth,
                   const InputLimits& limits) {
  if (depth > limits.max_depth) {
    return LimitError(path, "nested too deeply", kMaxDepthFlag, limits.max_depth);
  }
  const Reflection* refl = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(msg, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string field_path = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->is_repeated()) {
      const int n = refl->FieldSize(msg, field);
      if (static_cast<std::size_t>(n) > limits.max_list_items) {
        return LimitError(field_path, absl::StrCat(n, " items are too many"), kMaxListItemsFlag,
                          limits.max_list_items);
      }
      for (int i = 0; i < n; ++i) {
        const std::string item_path = absl::StrCat(field_path, "[", i, "]");
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          std::string scratch;
          absl::Status s = CheckString(refl->GetRepeatedStringReference(msg, field, i, &scratch),
                                       item_path, limits);
          if (!s.ok()) return s;
        } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          absl::Status s = Check(refl->GetRepeatedMessage(msg, field, i), item_path, depth + 1, limits);
          if (!s.ok()) return s;
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      std::string scratch;
      absl::Status s = CheckString(refl->GetStringReference(msg, field, &scratch), field_path, limits);
      if (!s.ok()) return s;
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      absl::Status s = Check(refl->GetMessage(msg, field), field_path, depth + 1, limits);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMessageLimits(const Message& message, absl::string_view path,
                                const InputLimits& limits) {
  return Check(message, std::string(path), 1, limits);
}

std::size_t FindInvalidUtf8(absl::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return absl::string_view::npos;
}

std::string QuoteInput(absl::string_view text) {
  const absl::string_view head = text.substr(0, kQuoteInputMax);
  std::string out = absl::StrCat("\"", absl::CHexEscape(head), "\"");
  if (head.size() < text.size()) absl::StrAppend(&out, "…(", text.size(), " bytes)");
  return out;
}

}  // namespace buildgate
