#include "input/limits.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/descriptor.h"

namespace buildgate {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Where the walk is, as a chain on the stack: the path string is only built
// when there is an error to report, so a request within its limits costs no
// allocation.
struct PathNode {
  const PathNode* parent;
  absl::string_view name;  // The root's path, or a field name.
  int index;               // Item of a repeated field, or -1.
};

std::string Render(const PathNode* node) {
  if (node == nullptr) return "";
  std::string path = Render(node->parent);
  if (!node->name.empty()) {
    if (!path.empty()) path.push_back('.');
    absl::StrAppend(&path, node->name);
  }
  if (node->index >= 0) absl::StrAppend(&path, "[", node->index, "]");
  return path;
}

absl::Status LimitError(const PathNode* at, absl::string_view what, absl::string_view flag,
                        std::size_t limit) {
  return InvalidField(Render(at), absl::StrCat(what, " (limit ", flag, " = ", limit, ")"));
}

// A `bytes` field is a document and has the document limit; a `string`
// field is one value and has the string limit (see limits.h).
absl::Status CheckString(const FieldDescriptor& field, absl::string_view value, const PathNode* at,
                         const InputLimits& limits) {
  if (field.type() == FieldDescriptor::TYPE_BYTES) {
    if (value.size() > limits.max_document_bytes) {
      return LimitError(at, absl::StrCat("document of ", value.size(), " bytes is too large"),
                        kMaxDocumentBytesFlag, limits.max_document_bytes);
    }
    return absl::OkStatus();
  }
  if (value.size() > limits.max_string_bytes) {
    return LimitError(at, absl::StrCat("string of ", value.size(), " bytes is too long"),
                      kMaxStringBytesFlag, limits.max_string_bytes);
  }
  return absl::OkStatus();
}

absl::Status Check(const Message& msg, const PathNode* at, int depth, const InputLimits& limits) {
  if (depth > limits.max_depth) {
    return LimitError(at, "nested too deeply", kMaxDepthFlag, limits.max_depth);
  }
  const Reflection* refl = msg.GetReflection();
  const google::protobuf::Descriptor* desc = msg.GetDescriptor();
  // Every field of the type rather than ListFields(), which allocates.
  for (int f = 0; f < desc->field_count(); ++f) {
    const FieldDescriptor* field = desc->field(f);
    const bool string = field->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    const bool message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (field->is_repeated()) {
      const int n = refl->FieldSize(msg, field);
      if (n == 0) continue;
      const PathNode list{at, field->name(), -1};
      if (static_cast<std::size_t>(n) > limits.max_list_items) {
        return LimitError(&list, absl::StrCat(n, " items are too many"), kMaxListItemsFlag,
                          limits.max_list_items);
      }
      if (!string && !message) continue;
      for (int i = 0; i < n; ++i) {
        const PathNode item{at, field->name(), i};
        if (string) {
          std::string scratch;
          BG_RETURN_IF_ERROR(CheckString(
              *field, refl->GetRepeatedStringReference(msg, field, i, &scratch), &item, limits));
        } else {
          BG_RETURN_IF_ERROR(
              Check(refl->GetRepeatedMessage(msg, field, i), &item, depth + 1, limits));
        }
      }
    } else if ((string || message) && refl->HasField(msg, field)) {
      const PathNode here{at, field->name(), -1};
      if (string) {
        std::string scratch;
        BG_RETURN_IF_ERROR(
            CheckString(*field, refl->GetStringReference(msg, field, &scratch), &here, limits));
      } else {
        BG_RETURN_IF_ERROR(Check(refl->GetMessage(msg, field), &here, depth + 1, limits));
      }
    }
  }
  return absl::OkStatus();
}

int Depth(const google::protobuf::Descriptor* type,
          std::vector<const google::protobuf::Descriptor*>* open) {
  if (std::find(open->begin(), open->end(), type) != open->end())
    return std::numeric_limits<int>::max();
  open->push_back(type);
  int deepest = 0;
  for (int f = 0; f < type->field_count(); ++f) {
    const FieldDescriptor* field = type->field(f);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    deepest = std::max(deepest, Depth(field->message_type(), open));
  }
  open->pop_back();
  return deepest == std::numeric_limits<int>::max() ? deepest : deepest + 1;
}

}  // namespace

int SchemaDepth(const google::protobuf::Descriptor& type) {
  std::vector<const google::protobuf::Descriptor*> open;
  return Depth(&type, &open);
}

bool SizeProvesLimits(std::size_t wire_bytes, int schema_depth, const InputLimits& limits) {
  return wire_bytes <= limits.max_string_bytes && wire_bytes <= limits.max_document_bytes &&
         wire_bytes <= limits.max_list_items && schema_depth <= limits.max_depth;
}

absl::Status CheckMessageLimits(const Message& message, absl::string_view path,
                                const InputLimits& limits) {
  const PathNode root{nullptr, path, -1};
  return Check(message, &root, 1, limits);
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
