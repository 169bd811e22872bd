#include "input/proto_text.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/input_error.h"
#include "common/status.h"
#include "input/yaml_document.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/yaml.h"

namespace buildgate {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Walks a YAML node tree into a message, remembering where it is for errors.
class YamlToMessage {
 public:
  YamlToMessage(absl::string_view source, const InputLimits& limits)
      : source_(source), limits_(limits) {}

  absl::Status Fill(const YAML::Node& node, const std::string& path, Message* msg) {
    if (absl::Status s = CountNode(node, path); !s.ok()) return s;
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) {
      return Error(node, path, absl::StrCat("expected a mapping for ",
                                             msg->GetDescriptor()->full_name()));
    }
    const Descriptor* desc = msg->GetDescriptor();
    std::set<int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // By value: `*it` is a proxy that dies at the end of the statement.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) return Error(key, path, "a key must be a plain name");
      const std::string& name = key.Scalar();
      const FieldDescriptor* field = FindField(desc, name);
      if (field == nullptr) {
        // The path names the key only when it is a plain, short name.
        const bool plain = name.size() <= kQuoteInputMax &&
                           std::all_of(name.begin(), name.end(), [](char c) {
                             return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
                           });
        return Error(key, plain ? (path.empty() ? name : absl::StrCat(path, ".", name)) : path,
                     absl::StrCat("unknown field ", QuoteInput(name), " in ", desc->full_name()));
      }
      const std::string field_path = path.empty() ? name : absl::StrCat(path, ".", name);
      if (!seen.insert(field->number()).second) {
        return Error(key, field_path, "field given twice");
      }
      BG_RETURN_IF_ERROR(SetField(value, field_path, field, msg));
    }
    return absl::OkStatus();
  }

 private:
  // ShapeCheck bounded the document already; this second budget keeps the
  // walk finite whatever yaml-cpp built (an alias to an anchor that is not
  // finished yet makes a cycle).
  absl::Status CountNode(const YAML::Node& node, const std::string& path) {
    if (++visited_ <= limits_.max_yaml_nodes) return absl::OkStatus();
    return Error(node, path, absl::StrCat("more than ", limits_.max_yaml_nodes, " YAML nodes (limit ",
                                          kMaxYamlNodesFlag, " = ", limits_.max_yaml_nodes, ")"));
  }

  static const FieldDescriptor* FindField(const Descriptor* desc, const std::string& name) {
    if (const FieldDescriptor* f = desc->FindFieldByName(name)) return f;
    for (int i = 0; i < desc->field_count(); ++i) {
      if (desc->field(i)->json_name() == name) return desc->field(i);
    }
    return nullptr;
  }

  absl::Status Error(const YAML::Node& node, const std::string& path,
                     absl::string_view what) const {
    const YAML::Mark mark = node.Mark();
    const bool known = mark.line >= 0;
    return LocatedError(source_, known ? mark.line + 1 : kNoPosition, known ? mark.column + 1 : 0,
                        path, what);
  }

  absl::Status SetField(const YAML::Node& node, const std::string& path,
                        const FieldDescriptor* field, Message* msg) {
    if (absl::Status s = CountNode(node, path); !s.ok()) return s;
    if (node.IsNull()) return absl::OkStatus();  // `key:` or `key: null` = unset.
    if (field->is_map()) return Error(node, path, "map fields are not supported");
    if (field->is_repeated()) {
      if (!node.IsSequence()) return Error(node, path, "expected a list");
      for (std::size_t i = 0; i < node.size(); ++i) {
        BG_RETURN_IF_ERROR(
            AddValue(node[i], absl::StrCat(path, "[", i, "]"), field, msg, /*repeated=*/true));
      }
      return absl::OkStatus();
    }
    return AddValue(node, path, field, msg, /*repeated=*/false);
  }

  absl::Status AddValue(const YAML::Node& node, const std::string& path,
                        const FieldDescriptor* field, Message* msg, bool repeated) {
    const Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Message* sub = repeated ? refl->AddMessage(msg, field) : refl->MutableMessage(msg, field);
      return Fill(node, path, sub);
    }
    if (!node.IsScalar()) {
      return Error(node, path, absl::StrCat("expected a ", TypeName(field), " value"));
    }
    const std::string& text = node.Scalar();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? refl->AddString(msg, field, text) : refl->SetString(msg, field, text);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool value;
        if (text == "true" || text == "True" || text == "TRUE") {
          value = true;
        } else if (text == "false" || text == "False" || text == "FALSE") {
          value = false;
        } else {
          return Error(node, path, absl::StrCat("expected true or false, got ", QuoteInput(text)));
        }
        repeated ? refl->AddBool(msg, field, value) : refl->SetBool(msg, field, value);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t value;
        if (!absl::SimpleAtoi(text, &value)) {
          return Error(node, path, absl::StrCat("expected an integer, got ", QuoteInput(text)));
        }
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
          if (value < std::numeric_limits<int32_t>::min() ||
              value > std::numeric_limits<int32_t>::max()) {
            return Error(node, path, absl::StrCat("integer out of range: ", text));
          }
          repeated ? refl->AddInt32(msg, field, static_cast<int32_t>(value))
                   : refl->SetInt32(msg, field, static_cast<int32_t>(value));
        } else {
          repeated ? refl->AddInt64(msg, field, value) : refl->SetInt64(msg, field, value);
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t value;
        if (!absl::SimpleAtoi(text, &value) ||
            (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 &&
             value > std::numeric_limits<uint32_t>::max())) {
          return Error(node, path,
                       absl::StrCat("expected a non-negative integer, got ", QuoteInput(text)));
        }
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
          repeated ? refl->AddUInt32(msg, field, static_cast<uint32_t>(value))
                   : refl->SetUInt32(msg, field, static_cast<uint32_t>(value));
        } else {
          repeated ? refl->AddUInt64(msg, field, value) : refl->SetUInt64(msg, field, value);
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double value;
        if (!absl::SimpleAtod(text, &value)) {
          return Error(node, path, absl::StrCat("expected a number, got ", QuoteInput(text)));
        }
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          repeated ? refl->AddDouble(msg, field, value) : refl->SetDouble(msg, field, value);
        } else {
          repeated ? refl->AddFloat(msg, field, static_cast<float>(value))
                   : refl->SetFloat(msg, field, static_cast<float>(value));
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumDescriptor* type = field->enum_type();
        const auto* value = type->FindValueByName(text);
        if (value == nullptr || value->number() == 0) {
          std::vector<std::string> names;
          for (int i = 1; i < type->value_count(); ++i) names.push_back(type->value(i)->name());
          return Error(node, path,
                       absl::StrCat("unknown value ", QuoteInput(text), " for ", type->full_name(),
                                    " (expected one of ", absl::StrJoin(names, ", "), ")"));
        }
        repeated ? refl->AddEnumValue(msg, field, value->number())
                 : refl->SetEnumValue(msg, field, value->number());
        return absl::OkStatus();
      }
      default:
        return Error(node, path, "unsupported field type");
    }
  }

  static std::string TypeName(const FieldDescriptor* field) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: return "string";
      case FieldDescriptor::CPPTYPE_BOOL: return "boolean";
      case FieldDescriptor::CPPTYPE_ENUM: return absl::StrCat(field->enum_type()->name(), " enum");
      default: return "number";
    }
  }

  absl::string_view source_;
  const InputLimits& limits_;
  std::size_t visited_ = 0;
};

void EmitMessage(const Message& msg, YAML::Emitter* out);

void EmitScalar(const Message& msg, const FieldDescriptor* field, int index, YAML::Emitter* out) {
  const Reflection* refl = msg.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string s = rep ? refl->GetRepeatedString(msg, field, index)
                                : refl->GetString(msg, field);
      *out << s;
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      *out << ((rep ? refl->GetRepeatedBool(msg, field, index) : refl->GetBool(msg, field))
                   ? "true" : "false");
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      *out << (rep ? refl->GetRepeatedInt32(msg, field, index) : refl->GetInt32(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      *out << (rep ? refl->GetRepeatedInt64(msg, field, index) : refl->GetInt64(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      *out << (rep ? refl->GetRepeatedUInt32(msg, field, index) : refl->GetUInt32(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      *out << (rep ? refl->GetRepeatedUInt64(msg, field, index) : refl->GetUInt64(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      *out << (rep ? refl->GetRepeatedDouble(msg, field, index) : refl->GetDouble(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      *out << (rep ? refl->GetRepeatedFloat(msg, field, index) : refl->GetFloat(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      *out << (rep ? refl->GetRepeatedEnum(msg, field, index) : refl->GetEnum(msg, field))->name();
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      EmitMessage(rep ? refl->GetRepeatedMessage(msg, field, index) : refl->GetMessage(msg, field),
                  out);
      break;
  }
}

void EmitMessage(const Message& msg, YAML::Emitter* out) {
  std::vector<const FieldDescriptor*> fields;
  msg.GetReflection()->ListFields(msg, &fields);  // Field-number order.
  *out << YAML::BeginMap;
  for (const FieldDescriptor* field : fields) {
    *out << YAML::Key << field->json_name() << YAML::Value;
    if (field->is_repeated()) {
      *out << YAML::BeginSeq;
      const int n = msg.GetReflection()->FieldSize(msg, field);
      for (int i = 0; i < n; ++i) EmitScalar(msg, field, i, out);
      *out << YAML::EndSeq;
    } else if (field->type() == FieldDescriptor::TYPE_STRING &&
               msg.GetReflection()->GetString(msg, field).find('\n') != std::string::npos) {
      *out << YAML::Literal << msg.GetReflection()->GetString(msg, field);
    } else {
      EmitScalar(msg, field, -1, out);
    }
  }
  *out << YAML::EndMap;
}

}  // namespace

absl::Status ParseYamlToMessage(absl::string_view text, absl::string_view source,
                                Message* out, const InputLimits& limits) {
  out->Clear();
  BG_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, source, limits));
  absl::Status status = YamlToMessage(source, limits).Fill(root, "", out);
  if (status.ok()) {
    status = CheckMessageLimits(*out, "", limits);
    if (!status.ok()) status = WithFile(status, source);  // InvalidField: kInvalidArgument.
  }
  if (!status.ok()) out->Clear();
  return status;
}

std::string MessageToYaml(const Message& message) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitMessage(message, &out);
  std::string text = out.c_str();
  if (text == "{}") return "{}\n";
  text.push_back('\n');
  return text;
}

std::string DeterministicSerialization(const Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&out);
  }
  return bytes;
}

std::string MessageToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  // Printing a valid in-memory message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace buildgate
