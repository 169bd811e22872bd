// Help text for every reason code: SARIF rule help and `buildgate lint`'s
// explanations. One entry per ReasonCode (tests/lint checks there is no gap).
#include "lint/lint.h"

namespace buildgate::lint {

absl::string_view ReasonHelp(v1::ReasonCode code) {
  switch (code) {
    case v1::REASON_CODE_UNSPECIFIED:
      return "";
    case v1::CHOSEN_BY_PREFERENCE:
      return "The builder is the first in the policy's order of preference that can run this "
             "step within the policy.";
    case v1::CHOSEN_AS_REQUESTED:
      return "The step names this builder and the policy admits it.";
    case v1::CHOSEN_FOR_CACHING:
      return "The step asks for layer caching and this builder provides it within the policy.";
    case v1::REQUEST_OVERRIDDEN:
      return "The builder the step uses is not admissible under the policy; another builder "
             "replaces it. Apply the changes (step type, image, privileged, runAsUser).";
    case v1::CACHING_UNAVAILABLE:
      return "No admissible builder provides layer caching; the step builds without it.";
    case v1::RUNS_AS_ROOT_ON_STEP:
      return "The build step runs as UID 0 on its own; the rest of the stage stays non-root.";
    case v1::RUNS_AS_NON_ROOT:
      return "The build step runs as a non-root user.";
    case v1::RUNS_PRIVILEGED:
      return "The builder needs a privileged container (user namespaces, mounts).";
    case v1::RUNS_UNPRIVILEGED:
      return "The builder runs without privileged mode.";
    case v1::DRY_RUN_CONFIGURED:
      return "The build runs without pushing (PLUGIN_DRY_RUN or the builder's equivalent).";
    case v1::RUNS_AS_BUILD_AND_PUSH:
      return "The Plugin step runs the image of a builder Harness runs through its Build and Push "
             "steps (Kaniko, BuildX). buildgate decides it as that Build and Push step, whose "
             "security settings Harness manages; the fix changes `type` and moves the settings "
             "into the step's spec.";
    case v1::PLUGIN_IMAGE_PINNED:
      return "The plugin image is pinned to a version the catalog and policy allow; floating "
             "tags change the builder under you.";
    case v1::BUILDER_NOT_ALLOWED:
      return "The policy's allowed_builders does not list this builder.";
    case v1::ROOT_NOT_ALLOWED:
      return "The builder needs UID 0 and the policy forbids root for this step.";
    case v1::PRIVILEGED_NOT_ALLOWED:
      return "The builder (or a step it relies on) needs a privileged container and the "
             "policy forbids privileged containers.";
    case v1::SCC_NOT_GRANTED:
      return "On OpenShift the builder needs a SecurityContextConstraints the build service "
             "account is not granted (for example anyuid).";
    case v1::POD_SECURITY_VIOLATION:
      return "The builder's pod would violate the Pod Security Standard the namespace "
             "enforces.";
    case v1::ARCHITECTURE_UNSUPPORTED:
      return "The builder's image is not published for the node architecture.";
    case v1::DESTINATION_UNSUPPORTED:
      return "The builder cannot push to this registry type.";
    case v1::FEATURE_FLAG_REQUIRED:
      return "Harness runs this builder only with an account feature flag the policy does not "
             "list as on.";
    case v1::DISPLACED_BY_FEATURE_FLAG:
      return "An account feature flag (or caching) makes Harness run another builder for Build "
             "and Push steps.";
    case v1::DRY_RUN_UNSUPPORTED:
      return "The builder cannot build without pushing to this destination.";
    case v1::UID_OUT_OF_RANGE:
      return "The user id is outside the policy's allowed_uids.";
    case v1::PLATFORM_UNSUPPORTED:
      return "The builder does not run on the policy's platform (Kubernetes or OpenShift).";
    case v1::SIMPLE_DOCKERFILE_REQUIRED:
      return "This way of running the builder works only for Dockerfiles that install no "
             "packages, chown nothing and create no users.";
    case v1::PLUGIN_IMAGE_UNTAGGED:
      return "The plugin image has no tag, so it runs `latest`; pin a version.";
    case v1::PLUGIN_IMAGE_LATEST:
      return "The plugin image uses the `latest` tag; pin a version.";
    case v1::PLUGIN_VERSION_NOT_ALLOWED:
      return "The plugin image's version is not in the policy's allowed_versions.";
    case v1::PLAINTEXT_PASSWORD:
      return "The registry password is written in the pipeline; use "
             "<+secrets.getValue(\"id\")>.";
    case v1::PLAINTEXT_USERNAME:
      return "The registry username is written in the pipeline and the policy wants "
             "expressions for every credential.";
    case v1::REGISTRY_NOT_ALLOWED:
      return "The push target is not in the policy's registry_allowlist.";
    case v1::REGISTRY_UNVERIFIABLE:
      return "The push target holds an expression that some values of which the "
             "registry_allowlist refuses; it cannot be verified before the pipeline runs.";
    case v1::PLATFORM_MISMATCH:
      return "The step's infrastructure names a platform other than the policy's.";
    case v1::NO_ADMISSIBLE_BUILDER:
      return "No builder can run this step within the policy; the remediations say which "
             "policy change would allow one.";
    case v1::INFRA_MUST_RUN_AS_NON_ROOT:
      return "The policy forbids root outside the build step: the stage's "
             "containerSecurityContext must set runAsNonRoot: true and a non-root runAsUser.";
    case v1::INFRA_PRIVILEGED_FORBIDDEN:
      return "The stage's containerSecurityContext runs every container privileged and the "
             "policy forbids it.";
    case v1::INFRA_CAPABILITIES_NEEDED:
      return "The stage drops Linux capabilities the builder needs.";
    case v1::INFRA_PRIVILEGE_ESCALATION_NEEDED:
      return "The builder needs allowPrivilegeEscalation (newuidmap/newgidmap) and the stage "
             "sets it false.";
    case v1::PLUGIN_IMAGE_ARCH_MISMATCH:
      return "The plugin image's tag names another architecture than the node's.";
    case v1::PLUGIN_VERSION_UNVERIFIABLE:
      return "The plugin image's tag or digest is an expression, so the version rules cannot "
             "be checked; the image is pinned.";
    case v1::TEMPLATE_NOT_EXPANDED:
      return "A template reference: the steps live in the template, not in this document. "
             "Lint the expanded pipeline (what the governance hook receives) or the template.";
    case v1::MATRIX_STRATEGY:
      return "The build runs under strategy.matrix: it is decided once for every combination, "
             "with <+matrix.*> values unknown.";
    case v1::RUNTIME_INPUT:
      return "A field that decides the build holds <+input> or another expression, known only "
             "when the pipeline runs. buildgate never reads it as false or 0: set it to the "
             "literal value the decision requires.";
    case v1::UNMANAGED_BUILD:
      return "A Run step builds an image itself (docker build against docker:dind, buildah, "
             "kaniko's executor, podman): no policy governs it. Replace it with the Build and "
             "Push or builder Plugin step buildgate decides.";
    case v1::OS_UNSUPPORTED:
      return "Harness does not run this build where the stage runs (Build and Push steps on "
             "Windows Kubernetes nodes or macOS, a builder plugin with no image for the OS), or "
             "buildgate's catalog holds no facts about that infrastructure and OS. The "
             "remediation lists where it runs; docs/domain.md has the facts and sources.";
    case v1::INFRASTRUCTURE_NOT_ALLOWED:
      return "The policy's allowed_infrastructures does not list where the stage runs (e.g. "
             "\"only our clusters\" and a stage on Harness Cloud). Move the stage, or allow the "
             "infrastructure in the policy.";
    case v1::RUNS_OFF_KUBERNETES:
      return "The stage runs on Harness Cloud, a VM pool or a local Docker runner: Harness runs "
             "the build there itself with the machine's Docker daemon (drone-docker, BuildX "
             "with caching), and Kubernetes rules (builders, root, privileged, runAsUser, "
             "security context) do not apply. Registry, credential, plugin image and dry-run "
             "rules still do; allowed_infrastructures can forbid building there.";
    case v1::UNRECOGNISED_BUILD:
      return "The step runs an image that builds images, but buildgate cannot tell which builder "
             "it is: a catalog builder pulled from a registry the policy does not list in "
             "plugin_mirrors (list it), or an image builder that is not in the builder catalog "
             "(use a Build and Push step or a catalog builder plugin instead, or describe it in "
             "the policy's catalog_overrides). Nothing is decided for it until then.";
    case v1::INVALID_STEP_VALUE:
      return "The step holds a value buildgate cannot decide with (the message names the field, "
             "says what is wrong and what the value should look like, e.g. an ECR registry "
             "<aws_account_id>.dkr.ecr.<region>.amazonaws.com, or a repository without its tag). "
             "Correct it; nothing is decided for this step until then, the rest of the file is.";
    case v1::HARNESS_IDENTIFIER_INVALID:
      return "Harness identifiers are letters, digits, _ and $, not starting with a digit; "
             "Harness refuses the pipeline otherwise.";
    default:
      return "";
  }
}

}  // namespace buildgate::lint
