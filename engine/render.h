// Renders a decision for people: the Harness pipeline YAML of the step,
// shaped like the brief's examples, the stage variables it needs
// (PLUGIN_DRY_RUN), and the text of each change it requires.
// Credentials that are not expressions are rendered as "[REDACTED]".
//
// Thread-safe: pure.
#ifndef BUILDGATE_ENGINE_RENDER_H_
#define BUILDGATE_ENGINE_RENDER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/proposal.h"

namespace buildgate {

inline constexpr absl::string_view kRedacted = "[REDACTED]";

// True when a credential is written out in the pipeline (set, and not one
// Harness expression such as <+secrets.getValue("hub")>): a plaintext
// secret. The engine's PLAINTEXT_* checks and every redaction ask this.
bool IsPlaintextCredential(absl::string_view value);

// Replaces a plaintext credentials.password of `step` by kRedacted: the one
// way a step read from user input is made safe to print. Readers of
// pipelines call it on every proposal they build, so no output or log of
// any command (text, JSON, YAML, SARIF, LintPipeline) can show the secret;
// the engine still sees that the password was written in plaintext.
void RedactPlaintextSecrets(v1::BuildStep* step);

// Writes the Harness step YAML (a "- step:" list item) for an allow
// decision into `out` (replacing its content, reusing its capacity). The
// registry's parts (ECR account and region, GCR project) come from the
// resolved proposal; expressions are written verbatim (quoted when YAML
// needs it).
void RenderStepYaml(const v1::BuildStep& step, const v1::Decision& decision,
                    const Proposal& proposal, std::string* out);

// `value` as a YAML scalar: plain when YAML reads it back as the same
// string, else double-quoted (booleans, numbers, ": ", " #", control bytes).
std::string YamlScalar(absl::string_view value);

// One change a decision requires, as people read it in every text output
// (the CLI's decide, lint's text and SARIF messages):
// "spec.runAsUser: (unset) -> 1000" ("(unset)" when the proposal left it).
std::string ChangeText(const v1::Change& change);

// Writes a stage "variables:" block for settings scoped
// ENV_SCOPE_STAGE_VARIABLE into `out`; empty if there are none.
void RenderStageVariablesYaml(const v1::Decision& decision, std::string* out);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_RENDER_H_
