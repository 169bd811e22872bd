#include "pipeline/internal/build_recognition.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grammar/expression.h"
#include "grammar/reference.h"

namespace buildgate::pipeline::internal {
namespace {

absl::string_view BaseName(absl::string_view word) {
  const std::size_t slash = word.rfind('/');
  return slash == absl::string_view::npos ? word : word.substr(slash + 1);
}

// "registry/acme/app:1.2" -> "registry/acme/app"; quotes dropped; a shell
// variable makes it unknown ("").
std::string CommandImageName(absl::string_view word) {
  absl::ConsumePrefix(&word, "\"");
  absl::ConsumeSuffix(&word, "\"");
  absl::ConsumePrefix(&word, "'");
  absl::ConsumeSuffix(&word, "'");
  if (absl::StrContains(word, '$') && !ContainsHarnessExpression(word)) return std::string();
  return std::string(ImageNameOf(word));
}

// The image-building commands, as a tool (the first word's base name) and
// the subcommand words that follow it, global flags skipped before each
// (`docker --host H buildx --builder B build`). Only the subcommands that
// build: `docker buildx create|use|imagetools|version`, `docker image ls`
// and the like are no builds.
struct BuildCommandForm {
  absl::string_view tool;
  std::vector<absl::string_view> subcommand;
  absl::string_view name;  // How findings say it.
};

const std::vector<BuildCommandForm>& BuildCommandForms() {
  static const auto* forms = new std::vector<BuildCommandForm>{
      {"docker", {"build"}, "docker build"},
      {"docker", {"image", "build"}, "docker image build"},
      {"docker", {"builder", "build"}, "docker builder build"},
      {"docker", {"buildx", "build"}, "docker buildx build"},
      {"docker", {"buildx", "bake"}, "docker buildx bake"},
      {"podman", {"build"}, "podman build"},
      {"podman", {"image", "build"}, "podman image build"},
      {"podman", {"buildx", "build"}, "podman buildx build"},
      {"buildah", {"bud"}, "buildah bud"},
      {"buildah", {"build"}, "buildah build"},
      {"nerdctl", {"build"}, "nerdctl build"},
      {"nerdctl", {"image", "build"}, "nerdctl image build"},
      {"buildctl", {"build"}, "buildctl build"},
      // ko builds Go images and pushes them to KO_DOCKER_REPO without a
      // daemon; resolve, apply and create build every ko:// image of the
      // YAML they read (ko.build/reference/ko_build, ko_resolve).
      {"ko", {"build"}, "ko build"},
      {"ko", {"publish"}, "ko publish"},
      {"ko", {"resolve"}, "ko resolve"},
      {"ko", {"apply"}, "ko apply"},
      {"ko", {"create"}, "ko create"},
  };
  return *forms;
}

// Global flags that take a value as the next word (`--host H`), of the
// tools above and of `docker buildx` (`--builder B`).
bool FlagTakesValue(absl::string_view flag) {
  if (absl::StrContains(flag, '=')) return false;
  for (absl::string_view f : {"-H", "--host", "--config", "-c", "--context", "-l", "--log-level",
                              "--tlscacert", "--tlscert", "--tlskey", "--storage-driver", "--root",
                              "--builder", "--addr", "--namespace", "-n", "--address", "-a"}) {
    if (flag == f) return true;
  }
  return false;
}

// The index of the first word at or after `j` that is not a global flag.
std::size_t SkipFlags(const std::vector<absl::string_view>& words, std::size_t j) {
  while (j < words.size() && absl::StartsWith(words[j], "-")) {
    j += FlagTakesValue(words[j]) ? 2 : 1;
  }
  return j;
}

// The name of the build command that starts at words[i] ("" for none).
absl::string_view BuildCommandAt(const std::vector<absl::string_view>& words, std::size_t i) {
  const absl::string_view tool = BaseName(words[i]);
  // Kaniko's executor as its image installs it (/kaniko/executor), not an
  // image name that ends in it (gcr.io/kaniko-project/executor).
  if (absl::EndsWith(words[i], "kaniko/executor")) return "kaniko executor";
  for (const BuildCommandForm& form : BuildCommandForms()) {
    if (tool != form.tool) continue;
    std::size_t j = i + 1;
    bool matches = true;
    for (absl::string_view verb : form.subcommand) {
      j = SkipFlags(words, j);
      if (j >= words.size() || words[j] != verb) {
        matches = false;
        break;
      }
      ++j;
    }
    if (matches) return form.name;
  }
  return absl::string_view();
}

// The image a build command tags: `-t`, `--tag`, `--destination`, `-d`, or
// buildctl's `--output type=image,name=IMAGE,...`.
std::string TaggedImage(const std::vector<absl::string_view>& words, std::size_t i) {
  for (std::size_t k = i + 1; k < words.size(); ++k) {
    absl::string_view value;
    const bool has_next = k + 1 < words.size();
    if ((words[k] == "-t" || words[k] == "--tag" || words[k] == "--destination" ||
         words[k] == "-d" || words[k] == "--output" || words[k] == "-o") && has_next) {
      value = words[k + 1];
    }
    for (absl::string_view flag : {"--tag=", "--destination=", "--output="}) {
      if (absl::StartsWith(words[k], flag)) value = words[k].substr(flag.size());
    }
    if (value.empty()) continue;
    if (absl::StrContains(value, "name=")) {  // buildctl's --output.
      value = value.substr(value.find("name=") + 5);
      value = value.substr(0, value.find(','));
    } else if (words[k] == "--output" || words[k] == "-o" || absl::StartsWith(words[k], "--output=")) {
      continue;  // An output without an image name (type=local, a directory).
    }
    std::string image = CommandImageName(value);
    if (!image.empty()) return image;
  }
  return std::string();
}

// The build command among one shell command's words, e.g. "docker build",
// and the image it tags into `*image`.
std::string BuildInWords(const std::vector<absl::string_view>& words, std::string* image) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    const absl::string_view found = BuildCommandAt(words, i);
    if (found.empty()) continue;
    *image = TaggedImage(words, i);
    return std::string(found);
  }
  return std::string();
}

}  // namespace

std::optional<BuildKind> BuildKindOfStepType(absl::string_view type) {
  if (absl::StartsWith(type, "BuildAndPush")) return BuildKind::kBuildAndPush;
  if (type == "Plugin") return BuildKind::kPlugin;
  if (type == "Run") return BuildKind::kRunCommand;
  if (ContainsHarnessExpression(type)) return BuildKind::kUnknownType;
  return std::nullopt;
}

ScriptBuild FindScriptBuild(absl::string_view script) {
  ScriptBuild out;
  for (absl::string_view segment : absl::StrSplit(script, absl::ByAnyChar("\n;&|"))) {
    const std::vector<absl::string_view> words =
        absl::StrSplit(segment, absl::ByAnyChar(" \t\r()"), absl::SkipEmpty());
    if (words.empty() || absl::StartsWith(words[0], "#") || words[0] == "echo" ||
        words[0] == "printf") {
      continue;
    }
    out.command = BuildInWords(words, &out.image);
    if (!out.command.empty()) return out;
  }
  return out;
}

bool IsRunStepBuild(const ScriptBuild& script_build, absl::string_view run_image) {
  // A Run step whose script builds nothing and that names no image (it runs
  // on the host or the stage's default image) builds nothing.
  return !script_build.command.empty() || !run_image.empty();
}

bool NeedsDockerDaemon(absl::string_view command) { return absl::StartsWith(command, "docker"); }

bool IsDockerInDockerImage(absl::string_view image) {
  absl::string_view name = image;
  for (absl::string_view prefix : {"docker.io/library/", "docker.io/", "library/"}) {
    if (absl::ConsumePrefix(&name, prefix)) break;
  }
  return absl::StartsWith(name, "docker:") && absl::StrContains(name, "dind");
}

}  // namespace buildgate::pipeline::internal
