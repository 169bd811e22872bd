// In-process tests of every RPC against the real server (port 0).
#include <set>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_join.h"
#include "client/buildgate_client.h"
#include "engine/decide.h"
#include "input/proto_text.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "common/input_error.h"
#include "gtest/gtest.h"
#include "service/server.h"
#include "tests/testing/corpus.h"
#include "tests/testing/yaml_messages.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

using testing::Step;

namespace fs = std::filesystem;

constexpr char kAcme[] =
    "org_id: acme\npolicy: {revision: \"1\", root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n"
    "overrides:\n  - project_id: payments\n    policy: {privileged: PRIVILEGED_FORBIDDEN}\n";
constexpr char kGlobex[] =
    "org_id: globex\npolicy: {revision: g1, root: ROOT_FORBIDDEN, privileged: PRIVILEGED_FORBIDDEN,\n"
    "  platform: PLATFORM_OPENSHIFT, openshift_sccs: [SCC_ANYUID]}\n";

v1::PolicySet Set(const std::string& yaml) {
  v1::PolicySet set;
  absl::Status s = ParseYamlToMessage(yaml, "set", &set);
  EXPECT_TRUE(s.ok()) << s;
  return set;
}

const char kEcrStep[] =
    "kind: STEP_KIND_BUILD_AND_PUSH_ECR\nregistry: 123456789012.dkr.ecr.us-east-1.amazonaws.com\n"
    "repo: acme/api\n";

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDirectory("bg_svc");
    fs::create_directories(dir_ / "policies");
    Write("acme.yaml", kAcme);
    Write("globex.yaml", kGlobex);
  }
  void TearDown() override {
    client_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    fs::remove_all(dir_);
  }

  void Write(const std::string& name, const std::string& text) {
    const fs::path tmp = dir_ / "policies" / (".tmp-" + name);
    std::ofstream(tmp) << text;
    fs::rename(tmp, dir_ / "policies" / name);
  }

  void Start(std::function<void(ServerOptions*)> tweak = nullptr) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_address = "";  // The HTTP exposer takes ~2 s to stop; one test serves it.
    o.policy_dir = (dir_ / "policies").string();
    o.decision_log = (dir_ / "decisions.log").string();
    o.reload_interval = absl::Milliseconds(30);
    o.store.settle_time = absl::ZeroDuration();  // Tests write whole files by rename.
    if (tweak) tweak(&o);
    auto s = BuildGateServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    ClientOptions c;
    c.target = absl::StrCat("127.0.0.1:", server_->tcp_port());
    c.caller = "service-test";
    auto client = BuildGateClient::Create(c);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }

  v1::PolicySource Org(const std::string& org) {
    v1::PolicySource s;
    s.set_org_id(org);
    return s;
  }

  fs::path dir_;
  std::unique_ptr<BuildGateServer> server_;
  std::unique_ptr<BuildGateClient> client_;
};

// Proves Decide with a stored set returns the engine's decision and an id.
TEST_F(ServiceTest, DecideStoredPolicySet) {
  Start();
  auto r = client_->Decide(Org("acme"), Step(kEcrStep));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->decision().verdict(), v1::VERDICT_ALLOW_WITH_CHANGES);
  EXPECT_EQ(r->decision().builder(), v1::BUILDER_BUILDAH);
  EXPECT_EQ(r->decision().policy_revision(), "1");
  EXPECT_FALSE(r->decision_id().empty());
  // The scope comes from the step's project id.
  v1::BuildStep payments = Step(kEcrStep);
  payments.set_project_id("payments");
  auto p = client_->Decide(Org("acme"), payments);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->decision().verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(p->decision().policy_scope(), "project:payments");
}

// Proves inline policies are compiled once and then served by fingerprint,
// and an unknown fingerprint gets FAILED_PRECONDITION.
TEST_F(ServiceTest, InlineThenFingerprint) {
  Start();
  const v1::PolicySet set = Set(kGlobex);
  v1::PolicySource inline_source;
  *inline_source.mutable_inline_policy() = set;
  auto first = client_->Decide(inline_source, Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: g/app\n"));
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string fp = first->decision().policy_fingerprint();
  EXPECT_EQ(fp, PolicySetFingerprint(set));
  v1::PolicySource by_fp;
  by_fp.set_policy_fingerprint(fp);
  auto second = client_->Decide(by_fp, Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: g/app\n"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->decision().SerializeAsString(), first->decision().SerializeAsString());
  v1::PolicySource unknown;
  unknown.set_policy_fingerprint(std::string(64, 'a'));
  auto miss = client_->Decide(unknown, Step(kEcrStep));
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(miss.status().message(), "resend the policy inline"));
  EXPECT_GE(server_->cache().stats().hits, 1u);
}

// Proves the client sends the fingerprint after the first call and resends
// the policy when the server no longer has it (here: after a restart).
TEST_F(ServiceTest, ClientFingerprintProtocol) {
  Start();
  const int port = server_->tcp_port();
  const v1::PolicySet set = Set(kGlobex);
  const v1::BuildStep step = Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: g/app\n");
  ASSERT_TRUE(client_->DecideWithPolicy(set, step).ok());
  ASSERT_TRUE(client_->DecideWithPolicy(set, step).ok());
  EXPECT_EQ(client_->attempts(), 2);  // Inline, then fingerprint only.
  EXPECT_GE(server_->cache().stats().hits, 1u);
  // The same client object, which still remembers the fingerprint.
  std::unique_ptr<BuildGateClient> client = std::move(client_);
  server_->Shutdown();
  server_.reset();
  Start([port](ServerOptions* o) { o->listen = absl::StrCat("127.0.0.1:", port); });
  ASSERT_EQ(server_->tcp_port(), port);
  // Reconnected first (retries while the channel reconnects are not what
  // this test counts).
  ASSERT_TRUE(client->Health().ok());
  const int before = client->attempts();
  auto again = client->DecideWithPolicy(set, step);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(client->attempts() - before, 2) << "fingerprint refused, then policy resent";
}

// Proves inline policies can be switched off: only stored sets are usable.
TEST_F(ServiceTest, InlinePoliciesSwitchedOff) {
  Start([](ServerOptions* o) { o->allow_inline_policies = false; });
  v1::PolicySource inline_source;
  *inline_source.mutable_inline_policy() = Set(kGlobex);
  auto r = client_->Decide(inline_source, Step(kEcrStep));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  v1::PolicySource fp;
  fp.set_policy_fingerprint(PolicySetFingerprint(Set(kGlobex)));
  EXPECT_EQ(client_->Decide(fp, Step(kEcrStep)).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(client_->Decide(Org("acme"), Step(kEcrStep)).ok());
  auto status = client_->ServerStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->inline_policies_allowed());
}

// Proves invalid requests get INVALID_ARGUMENT naming the field and no decision.
TEST_F(ServiceTest, InvalidRequestsNameTheField) {
  Start();
  auto stub = v1::BuildGateService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->tcp_port()), grpc::InsecureChannelCredentials()));
  struct Case {
    std::string name;
    v1::DecideRequest request;
    grpc::StatusCode code;
    std::string prefix;
  };
  std::vector<Case> cases;
  {
    Case c{"no policy", {}, grpc::StatusCode::INVALID_ARGUMENT, "policy: required"};
    *c.request.mutable_step() = Step(kEcrStep);
    cases.push_back(c);
  }
  {
    Case c{"no step", {}, grpc::StatusCode::INVALID_ARGUMENT, "step: required"};
    c.request.mutable_policy()->set_org_id("acme");
    cases.push_back(c);
  }
  {
    Case c{"bad step", {}, grpc::StatusCode::INVALID_ARGUMENT, "step.kind: required"};
    c.request.mutable_policy()->set_org_id("acme");
    c.request.mutable_step()->set_repo("a/b");
    cases.push_back(c);
  }
  {
    Case c{"bad enum", {}, grpc::StatusCode::INVALID_ARGUMENT, "step.arch"};
    c.request.mutable_policy()->set_org_id("acme");
    *c.request.mutable_step() = Step(kEcrStep);
    c.request.mutable_step()->set_arch(static_cast<v1::Arch>(42));
    cases.push_back(c);
  }
  {
    Case c{"bad inline policy", {}, grpc::StatusCode::INVALID_ARGUMENT, "policy.inline_policy.policy.root: required"};
    c.request.mutable_policy()->mutable_inline_policy()->set_org_id("x");
    c.request.mutable_policy()->mutable_inline_policy()->mutable_policy()->set_privileged(v1::PRIVILEGED_ALLOWED);
    *c.request.mutable_step() = Step(kEcrStep);
    cases.push_back(c);
  }
  {
    Case c{"unknown org", {}, grpc::StatusCode::NOT_FOUND, "policy.org_id: no stored policy set"};
    c.request.mutable_policy()->set_org_id("nobody");
    *c.request.mutable_step() = Step(kEcrStep);
    cases.push_back(c);
  }
  {  // Used to come back RESOURCE_EXHAUSTED: the whole id echoed into metadata.
    Case c{"100 KB org id", {}, grpc::StatusCode::INVALID_ARGUMENT,
           "policy.org_id: string of 102400 bytes is too long (limit max_string_bytes = 8192)"};
    c.request.mutable_policy()->set_org_id(std::string(100 * 1024, 'o'));
    *c.request.mutable_step() = Step(kEcrStep);
    cases.push_back(c);
  }
  {
    Case c{"5000 tags", {}, grpc::StatusCode::INVALID_ARGUMENT,
           "step.tags: 5000 items are too many (limit max_list_items = 1000)"};
    c.request.mutable_policy()->set_org_id("acme");
    *c.request.mutable_step() = Step(kEcrStep);
    for (int i = 0; i < 5000; ++i) c.request.mutable_step()->add_tags(absl::StrCat("v", i));
    cases.push_back(c);
  }
  {
    Case c{"unknown org, 300 characters", {}, grpc::StatusCode::NOT_FOUND,
           "policy.org_id: no stored policy set for org \"" + std::string(64, 'x') + "\"…(300 bytes)"};
    c.request.mutable_policy()->set_org_id(std::string(300, 'x'));
    *c.request.mutable_step() = Step(kEcrStep);
    cases.push_back(c);
  }
  {
    Case c{"request over max_request_bytes", {}, grpc::StatusCode::RESOURCE_EXHAUSTED, ""};
    c.request.mutable_policy()->set_org_id("acme");
    *c.request.mutable_step() = Step(kEcrStep);
    c.request.mutable_step()->set_name(std::string(5 << 20, 'n'));
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    grpc::ClientContext ctx;
    v1::DecideResponse response;
    grpc::Status s = stub->Decide(&ctx, c.request, &response);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_TRUE(absl::StartsWith(s.error_message(), c.prefix)) << c.name << ": " << s.error_message();
    EXPECT_FALSE(response.has_decision()) << c.name;
    if (c.code == grpc::StatusCode::INVALID_ARGUMENT) {
      // The standard rich-error details name the same field.
      google::rpc::Status details;
      ASSERT_TRUE(details.ParseFromString(s.error_details())) << c.name;
      ASSERT_EQ(details.details_size(), 1) << c.name;
      google::rpc::BadRequest bad;
      ASSERT_TRUE(details.details(0).UnpackTo(&bad)) << c.name;
      ASSERT_EQ(bad.field_violations_size(), 1) << c.name;
      const std::string expected_field = c.prefix.substr(0, c.prefix.find(':'));
      EXPECT_EQ(bad.field_violations(0).field(), expected_field) << c.name;
      EXPECT_FALSE(bad.field_violations(0).description().empty()) << c.name;
      EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    }
  }
}

// Proves a request that does not decode (a string that is not UTF-8, found
// by fuzz_service: gRPC 1.51 answered UNIMPLEMENTED with no message) is
// INVALID_ARGUMENT naming the field, for every RPC, and is logged.
TEST_F(ServiceTest, UndecodableRequestsNameTheField) {
  Start();
  grpc::GenericStub stub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->tcp_port()),
                                             grpc::InsecureChannelCredentials()));
  auto call = [&](const std::string& method, const std::string& bytes) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::CompletionQueue cq;
    grpc::ClientContext ctx;
    auto rpc = stub.PrepareUnaryCall(&ctx, method, request, &cq);
    rpc->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    rpc->Finish(&reply, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return status;
  };
  // DecideRequest{step{repo: "acme/\xff"}}: field 2 (step), field 12 (repo).
  const std::string bad_utf8 = std::string("\x12\x08\x62\x06" "acme/\xff", 10);
  grpc::Status s = call("/buildgate.v1.BuildGateService/Decide", bad_utf8);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(s.error_message(),
            "request: not a valid buildgate.v1.DecideRequest: invalid UTF-8 in string field "
            "buildgate.v1.BuildStep.repo");
  s = call("/buildgate.v1.BuildGateService/DecideBatch", std::string("\x12\x08\x62\x06" "acme/\xff", 10));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // GetPolicySetRequest{org_id: "\xc3("}.
  s = call("/buildgate.v1.BuildGateService/GetPolicySet", std::string("\x0a\x02\xc3\x28", 4));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "buildgate.v1.GetPolicySetRequest.org_id"));
  // Not a protobuf message at all: a field tag that ends in the middle.
  s = call("/buildgate.v1.BuildGateService/Decide", std::string("\x12\xff\xff\xff\xff\x0f", 6));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "malformed protobuf")) << s.error_message();
  server_->Shutdown();  // Flushes the log.
  std::ifstream in(dir_ / "decisions.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log, "invalid UTF-8 in string field buildgate.v1.BuildStep.repo")) << log;
}

// Proves DecideBatch answers in order, and one bad step fails the batch by index.
TEST_F(ServiceTest, DecideBatch) {
  Start();
  v1::DecideBatchRequest request;
  request.mutable_policy()->set_org_id("acme");
  *request.add_steps() = Step(kEcrStep);
  *request.add_steps() = Step("kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker:1.1.0-linux-amd64\nrepo: acme/web\n"
                              "privileged: true\nrun_as_user: 1000\n");
  v1::BuildStep payments = Step(kEcrStep);
  payments.set_project_id("payments");
  *request.add_steps() = payments;
  auto r = client_->DecideBatch(request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 3);
  EXPECT_EQ(r->results(0).decision().verdict(), v1::VERDICT_ALLOW_WITH_CHANGES);
  EXPECT_EQ(r->results(1).decision().verdict(), v1::VERDICT_ALLOW);
  EXPECT_EQ(r->results(2).decision().verdict(), v1::VERDICT_DENY);
  EXPECT_NE(r->results(0).decision_id(), r->results(1).decision_id());
  request.mutable_steps(1)->clear_kind();
  auto bad = client_->DecideBatch(request);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.status().message(), "steps[1].kind: required")) << bad.status();
  v1::DecideBatchRequest empty;
  empty.mutable_policy()->set_org_id("acme");
  EXPECT_EQ(client_->DecideBatch(empty).status().code(), absl::StatusCode::kInvalidArgument);
  v1::DecideBatchRequest huge = empty;
  for (int i = 0; i <= kMaxBatchSize; ++i) *huge.add_steps() = Step(kEcrStep);
  // With the default limits, the list limit (also 1000) speaks first.
  const absl::Status too_many = client_->DecideBatch(huge).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(too_many.message(), "steps: 1001 items are too many")) << too_many;
}

// Proves ValidatePolicy, ListPolicySets, GetPolicySet and GetServerStatus.
TEST_F(ServiceTest, PolicyRpcs) {
  Start();
  auto ok = client_->ValidatePolicy(Set(kAcme));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->valid());
  EXPECT_EQ(ok->fingerprint(), PolicySetFingerprint(Set(kAcme)));
  ASSERT_EQ(ok->scopes_size(), 2);
  v1::PolicySet loose = Set(kAcme);
  loose.mutable_overrides(0)->mutable_policy()->set_root(v1::ROOT_ALLOWED);
  auto bad = client_->ValidatePolicy(loose);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->valid());
  EXPECT_TRUE(absl::StartsWith(bad->error(), "policy_set.overrides[0].policy.root")) << bad->error();

  auto list = client_->ListPolicySets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->policy_sets_size(), 2);
  EXPECT_EQ(list->policy_sets(0).org_id(), "acme");
  EXPECT_EQ(list->policy_sets(1).org_id(), "globex");
  EXPECT_EQ(list->policy_sets(0).fingerprint(), PolicySetFingerprint(Set(kAcme)));
  EXPECT_TRUE(absl::EndsWith(list->policy_sets(0).source(), "acme.yaml"));
  EXPECT_FALSE(list->policy_sets(0).loaded_at().empty());

  auto stub = v1::BuildGateService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->tcp_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::GetPolicySetRequest get;
  get.set_org_id("globex");
  v1::GetPolicySetResponse got;
  ASSERT_TRUE(stub->GetPolicySet(&ctx, get, &got).ok());
  EXPECT_EQ(got.policy_set().org_id(), "globex");
  EXPECT_EQ(got.info().revision(), "g1");
  grpc::ClientContext ctx2;
  get.set_org_id("nobody");
  EXPECT_EQ(stub->GetPolicySet(&ctx2, get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  auto status = client_->ServerStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->serving());
  EXPECT_EQ(status->policy_sets(), 2);
  EXPECT_TRUE(status->file_errors().empty());
}

// Proves health is NOT_SERVING (and Decide UNAVAILABLE) until the store has
// loaded, then SERVING. The test hook holds loading until a client has probed.
TEST_F(ServiceTest, HealthFollowsPolicyLoading) {
  // Find a free port, so the probe knows where to go before Start returns.
  int port = 0;
  {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_address = "";
    o.decision_log = "";
    auto tmp = BuildGateServer::Start(o);
    ASSERT_TRUE(tmp.ok());
    port = (*tmp)->tcp_port();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool probed = false;
  std::string during_health;
  absl::StatusCode during_decide = absl::StatusCode::kOk;
  ServerOptions o;
  o.listen = absl::StrCat("127.0.0.1:", port);
  o.metrics_address = "";
  o.decision_log = "";
  o.policy_dir = (dir_ / "policies").string();
  o.before_policy_load = [&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return probed; });
  };
  std::thread probe([&] {
    ClientOptions c;
    c.target = absl::StrCat("127.0.0.1:", port);
    c.max_attempts = 1;
    auto client = *BuildGateClient::Create(c);
    for (int i = 0; i < 200; ++i) {
      auto h = client->Health();
      if (h.ok()) {
        during_health = *h;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    during_decide = client->Decide(Org("acme"), Step(kEcrStep)).status().code();
    std::lock_guard<std::mutex> lock(mu);
    probed = true;
    cv.notify_all();
  });
  auto s = BuildGateServer::Start(o);
  probe.join();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(during_health, "NOT_SERVING");
  EXPECT_EQ(during_decide, absl::StatusCode::kUnavailable);
  ClientOptions c;
  c.target = absl::StrCat("127.0.0.1:", port);
  auto client = *BuildGateClient::Create(c);
  EXPECT_EQ(client->Health().value_or("error"), "SERVING");
  EXPECT_EQ(client->Health("buildgate.v1.BuildGateService").value_or("error"), "SERVING");
  (*s)->Shutdown();
}

// Proves metrics count decisions by verdict and builder, latency and cache use.
TEST_F(ServiceTest, MetricsCountDecisions) {
  Start([](ServerOptions* o) { o->metrics_address = "127.0.0.1:0"; });
  ASSERT_GT(server_->metrics_port(), 0);
  ASSERT_TRUE(client_->Decide(Org("acme"), Step(kEcrStep)).ok());
  ASSERT_TRUE(client_->Decide(Org("acme"), Step(kEcrStep)).ok());
  ASSERT_FALSE(client_->Decide(Org("nobody"), Step(kEcrStep)).ok());
  const std::string text = server_->metrics().Scrape();
  EXPECT_TRUE(absl::StrContains(
      text, "buildgate_decisions_total{builder=\"BUILDER_BUILDAH\",verdict=\"VERDICT_ALLOW_WITH_CHANGES\"} 2"))
      << text;
  // prometheus-cpp writes labels sorted by name.
  const std::string decide = "grpc_method=\"Decide\",grpc_service=\"buildgate.v1.BuildGateService\"";
  EXPECT_TRUE(absl::StrContains(
      text, "grpc_server_handled_total{grpc_code=\"OK\"," + decide + "} 2")) << text;
  EXPECT_TRUE(absl::StrContains(
      text, "grpc_server_handled_total{grpc_code=\"NOT_FOUND\"," + decide + "} 1")) << text;
  EXPECT_TRUE(absl::StrContains(text, "grpc_server_handling_seconds_count{" + decide + "} 3")) << text;
  EXPECT_TRUE(absl::StrContains(text, "buildgate_grpc_requests_in_flight 0")) << text;
  // No series that can never be non-zero (was: verdict="VERDICT_UNSPECIFIED",
  // code="OK" errors).
  EXPECT_FALSE(absl::StrContains(text, "VERDICT_UNSPECIFIED")) << text;
  EXPECT_FALSE(absl::StrContains(text, "verdict=\"VERDICT_DENY\",builder=\"BUILDER_")) << text;
  EXPECT_FALSE(absl::StrContains(text, "builder=\"BUILDER_UNSPECIFIED\"")) << text;
  EXPECT_FALSE(absl::StrContains(text, "grpc_code=\"INVALID_ARGUMENT\"")) << text;  // Not used yet.
  EXPECT_TRUE(absl::StrContains(text, "buildgate_build_info{")) << text;
  EXPECT_TRUE(absl::StrContains(text, "process_resident_memory_bytes ")) << text;
  EXPECT_TRUE(absl::StrContains(text, "buildgate_decision_latency_seconds_count 2"));
  EXPECT_TRUE(absl::StrContains(text, "buildgate_decision_latency_seconds_bucket{le=\"1e-06\"}"));
  EXPECT_TRUE(absl::StrContains(text, "buildgate_policy_sets_loaded 2"));
  EXPECT_TRUE(absl::StrContains(text, "buildgate_policy_cache_hits_total"));
}

// Proves a call that ends before its request message arrives (a client that
// half-closes or cancels first, as h2load does at the end of a run) is not
// decided, logged or counted as a refused request (it used to be logged as
// "step: required").
TEST_F(ServiceTest, CallWithoutMessageIsNotARefusal) {
  Start([](ServerOptions* o) { o->metrics_address = "127.0.0.1:0"; });
  grpc::GenericStub stub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->tcp_port()),
                                             grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto call = stub.PrepareCall(&ctx, "/buildgate.v1.BuildGateService/Decide", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  call->WritesDone(reinterpret_cast<void*>(2));  // Half-close with no message.
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  EXPECT_NE(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  ASSERT_TRUE(client_->Decide(Org("acme"), Step(kEcrStep)).ok());  // One real decision.
  const std::string text = server_->metrics().Scrape();
  EXPECT_FALSE(absl::StrContains(text, "grpc_code=\"INVALID_ARGUMENT\"")) << text;
  EXPECT_TRUE(absl::StrContains(text, "grpc_code=\"CANCELLED\",grpc_method=\"Decide\"")) << text;
  server_->Shutdown();
  std::ifstream in(dir_ / "decisions.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_FALSE(absl::StrContains(log, "step: required")) << log;
}

// Proves hot reload: a valid change is served within a bounded time, a
// broken file keeps the last good set and is reported, and concurrent
// callers see no failed call throughout.
TEST_F(ServiceTest, HotReloadUnderLoad) {
  Start();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, calls{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      ClientOptions c;
      c.target = absl::StrCat("127.0.0.1:", server_->tcp_port());
      auto client = *BuildGateClient::Create(c);
      while (!stop.load()) {
        auto r = client->Decide(Org("acme"), Step(kEcrStep));
        ++calls;
        if (!r.ok()) ++failures;
      }
    });
  }
  auto revision = [&] { return server_->store().Snapshot()->Find("acme")->info.revision(); };
  auto wait_for = [&](auto pred) {
    const absl::Time deadline = absl::Now() + absl::Seconds(3);
    while (!pred() && absl::Now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  };
  for (int round = 2; round <= 6; ++round) {
    const std::string rev = absl::StrCat(round);
    const absl::Time changed = absl::Now();
    Write("acme.yaml", absl::StrCat("org_id: acme\npolicy: {revision: \"", rev,
                                    "\", root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n"));
    ASSERT_TRUE(wait_for([&] { return revision() == rev; })) << "round " << round;
    EXPECT_LT(absl::Now() - changed, absl::Seconds(2));
    // The served decision carries the new revision.
    auto r = client_->Decide(Org("acme"), Step(kEcrStep));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->decision().policy_revision(), rev);
    Write("acme.yaml", "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: [oops]}\n");
    ASSERT_TRUE(wait_for([&] {
      auto s = client_->ServerStatus();
      return s.ok() && s->file_errors_size() == 1;
    }));
    EXPECT_EQ(revision(), rev) << "a broken file replaced the last good version";
  }
  stop = true;
  for (auto& t : callers) t.join();
  EXPECT_GT(calls.load(), 20);
  EXPECT_EQ(failures.load(), 0);
  auto status = client_->ServerStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_GE(status->reloads_failed(), 5u);
  EXPECT_GE(status->reloads_ok(), 5u);
  EXPECT_TRUE(absl::StrContains(status->file_errors(0).error(), "policy.privileged: expected a Privileged enum value"))
      << status->file_errors(0).error();
  EXPECT_TRUE(absl::StrContains(server_->metrics().Scrape(), "buildgate_policy_reloads_total{result=\"failed\"}"));
}

// Proves many threads with mixed stored and inline policies get exactly the
// offline engine's decisions.
TEST_F(ServiceTest, ConcurrentMixedPoliciesMatchOfflineEngine) {
  Start();
  const std::vector<std::string> steps = {
      kEcrStep,
      "kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker:1.1.0-linux-amd64\nrepo: x/web\n",
      "kind: STEP_KIND_BUILD_AND_PUSH_GAR\nregistry: us-docker.pkg.dev\nrepo: p/r/i\ncaching: true\n",
      "kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: x/web\narch: ARCH_ARM64\nproject_id: payments\n"};
  const std::vector<std::string> policies = {kAcme, kGlobex,
      "org_id: umbrella\npolicy: {root: ROOT_ALLOWED, privileged: PRIVILEGED_ALLOWED, feature_flags: [CI_USE_BUILDX_ON_K8]}\n"};
  // Expected answers from the offline engine.
  std::map<std::pair<int, int>, std::string> expected;
  for (int p = 0; p < 3; ++p) {
    auto compiled = *CompiledPolicySet::Compile(Set(policies[p]));
    for (int s = 0; s < 4; ++s) {
      v1::Decision d;
      ASSERT_TRUE(Decide(*compiled, Step(steps[s]), &d).ok());
      expected[{p, s}] = d.SerializeAsString();
    }
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ClientOptions c;
      c.target = absl::StrCat("127.0.0.1:", server_->tcp_port());
      auto client = *BuildGateClient::Create(c);
      for (int i = 0; i < 60; ++i) {
        const int p = (i + t) % 3, s = (i * 3 + t) % 4;
        absl::StatusOr<v1::DecideResponse> r;
        if (p < 2 && i % 2 == 0) {
          r = client->Decide(Org(p == 0 ? "acme" : "globex"), Step(steps[s]));
        } else {
          r = client->DecideWithPolicy(Set(policies[p]), Step(steps[s]));
        }
        if (!r.ok() || r->decision().SerializeAsString() != expected[{p, s}]) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Proves the decision corpus gives the same expected outcomes through the
// server (inline policies) as through the engine.
TEST_F(ServiceTest, CorpusThroughServer) {
  Start();
  int checked = 0;
  for (const auto& c : testing::LoadCorpus(BUILDGATE_SOURCE_DIR "/tests/cases")) {
    auto r = client_->DecideWithPolicy(c.data.policy_set(), c.data.step());
    const absl::Status status = r.ok() ? absl::OkStatus() : r.status();
    const auto mismatches =
        testing::CheckOutcome(c.data, status, r.ok() ? r->decision() : v1::Decision());
    EXPECT_TRUE(mismatches.empty()) << c.name << ":\n  " << absl::StrJoin(mismatches, "\n  ");
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

// Proves the views through the server, over the corpus: unset is FULL (what
// callers got before views existed), and a BASIC answer - Decide and
// DecideBatch - is the FULL one with the FULL-only fields left empty.
TEST_F(ServiceTest, CorpusThroughServerInBothViews) {
  Start();
  auto stub = v1::BuildGateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->tcp_port()), grpc::InsecureChannelCredentials()));
  int checked = 0;
  for (const auto& c : testing::LoadCorpus(BUILDGATE_SOURCE_DIR "/tests/cases")) {
    if (!c.data.expect_error().empty()) continue;
    v1::DecideRequest request;
    *request.mutable_policy()->mutable_inline_policy() = c.data.policy_set();
    *request.mutable_step() = c.data.step();
    v1::DecideResponse unset, full, basic;
    for (auto [view, out] : {std::pair{v1::DECISION_VIEW_UNSPECIFIED, &unset},
                             std::pair{v1::DECISION_VIEW_FULL, &full},
                             std::pair{v1::DECISION_VIEW_BASIC, &basic}}) {
      request.set_view(view);
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub->Decide(&ctx, request, out).ok()) << c.name;
    }
    v1::DecideBatchRequest batch;
    *batch.mutable_policy() = request.policy();
    *batch.add_steps() = c.data.step();
    batch.set_view(v1::DECISION_VIEW_BASIC);
    v1::DecideBatchResponse batch_basic;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->DecideBatch(&ctx, batch, &batch_basic).ok()) << c.name;
    v1::Decision trimmed = full.decision();
    ApplyView(v1::DECISION_VIEW_BASIC, &trimmed);
    EXPECT_EQ(unset.decision().SerializeAsString(), full.decision().SerializeAsString()) << c.name;
    EXPECT_EQ(basic.decision().SerializeAsString(), trimmed.SerializeAsString()) << c.name;
    EXPECT_EQ(batch_basic.results(0).decision().SerializeAsString(), trimmed.SerializeAsString()) << c.name;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

// The metric names docs/api.md's metrics table lists (its first column).
std::set<std::string> DocumentedMetrics() {
  std::ifstream in(std::string(BUILDGATE_SOURCE_DIR) + "/docs/api.md");
  std::set<std::string> names;
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "## ")) in_section = absl::StartsWith(line, "## Metrics");
    if (in_section && absl::StartsWith(line, "| `")) {
      names.insert(line.substr(3, line.find('`', 3) - 3));
    }
  }
  return names;
}

// Proves every metric /metrics exports (over HTTP, after calls of every
// kind) is documented in docs/api.md, and every documented one is exported.
TEST_F(ServiceTest, EveryMetricIsDocumented) {
  Start([](ServerOptions* o) { o->metrics_address = "127.0.0.1:0"; });
  ASSERT_TRUE(client_->Decide(Org("acme"), Step(kEcrStep)).ok());
  ASSERT_FALSE(client_->Decide(Org("nobody"), Step(kEcrStep)).ok());
  ASSERT_TRUE(client_->ListPolicySets().ok());
  const std::string text = server_->metrics().Scrape();
  std::set<std::string> exported;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "# TYPE ")) continue;
    const std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() >= 3) exported.insert(parts[2]);
  }
  const std::set<std::string> documented = DocumentedMetrics();
  ASSERT_GT(documented.size(), 15u) << "docs/api.md's metrics table was not found";
  for (const std::string& name : exported) {
    EXPECT_TRUE(documented.count(name)) << name << " is exported but not in docs/api.md";
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(exported.count(name)) << name << " is documented but not exported";
  }
}

// A pipeline with one build per project scope.
constexpr char kPipeline[] = R"(pipeline:
  identifier: storefront_release
  projectIdentifier: payments
  stages:
    - stage:
        identifier: build
        type: CI
        spec:
          execution:
            steps:
              - step:
                  type: BuildAndPushECR
                  identifier: push_api_to_ecr
                  spec:
                    account: "123456789012"
                    region: us-east-1
                    imageName: acme/api
)";

v1::LintPipelineRequest LintRequest(const v1::PolicySource& policy, const std::string& document) {
  v1::LintPipelineRequest r;
  *r.mutable_policy() = policy;
  r.set_document(document);
  r.set_file_name(".harness/storefront.yaml");
  return r;
}

// Proves LintPipeline decides a document's builds under a stored set, in the
// scope the pipeline's projectIdentifier names, with located findings, and
// logs each decided build.
TEST_F(ServiceTest, LintPipelineStoredPolicy) {
  Start();
  auto r = client_->LintPipeline(LintRequest(Org("acme"), kPipeline));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->lint_id().empty());
  ASSERT_EQ(r->report().findings_size(), 1);
  const v1::Finding& f = r->report().findings(0);
  EXPECT_EQ(f.verdict(), v1::VERDICT_DENY);  // payments forbids privileged: no builder.
  EXPECT_EQ(f.decision().policy_scope(), "project:payments");
  EXPECT_EQ(f.location().file(), ".harness/storefront.yaml");
  EXPECT_EQ(f.location().line(), 11);
  EXPECT_EQ(f.location().yaml_path(), "pipeline.stages[0].stage.spec.execution.steps[0].step");
  EXPECT_GT(f.decision().remediations_size(), 0) << "unset view: FULL";
  // The BASIC view trims every finding's decision and nothing else.
  v1::LintPipelineRequest basic_request = LintRequest(Org("acme"), kPipeline);
  basic_request.set_view(v1::DECISION_VIEW_BASIC);
  auto basic = client_->LintPipeline(basic_request);
  ASSERT_TRUE(basic.ok()) << basic.status();
  v1::LintReport expected = r->report();
  for (v1::Finding& e : *expected.mutable_findings()) ApplyView(v1::DECISION_VIEW_BASIC, e.mutable_decision());
  EXPECT_EQ(basic->report().SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(basic->report().findings(0).decision().remediations_size(), 0);
  server_->Shutdown();
  server_.reset();
  const std::string log = testing::ReadAll((dir_ / "decisions.log").string());
  EXPECT_TRUE(absl::StrContains(log, "\"rpc\":\"LintPipeline\"")) << log;
}

// Proves bad LintPipeline requests are INVALID_ARGUMENT naming the field
// (and file:line:column inside the document), never a report.
TEST_F(ServiceTest, LintPipelineRefusesBadInput) {
  Start([](ServerOptions* o) { o->limits.max_yaml_nodes = 500; });
  struct Case {
    std::string document;
    absl::StatusCode code;
    std::string error;
  };
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 0; i < 4; ++i) {
    absl::StrAppend(&bomb, "b", i, ": &b", i, " [*", i == 0 ? "a" : absl::StrCat("b", i - 1),
                    ", *", i == 0 ? "a" : absl::StrCat("b", i - 1), ", *",
                    i == 0 ? "a" : absl::StrCat("b", i - 1), "]\n");
  }
  const Case cases[] = {
      {"", absl::StatusCode::kInvalidArgument, "document: required"},
      {"pipeline:\n  stages: {}\n", absl::StatusCode::kInvalidArgument,
       "document: .harness/storefront.yaml:2:11: pipeline.stages: expected a list"},
      {"pipeline: \xff\xfe\n", absl::StatusCode::kInvalidArgument, "document: "},
      {bomb, absl::StatusCode::kInvalidArgument, "max_yaml_nodes"},
  };
  for (const Case& c : cases) {
    auto r = client_->LintPipeline(LintRequest(Org("acme"), c.document));
    ASSERT_FALSE(r.ok()) << c.document;
    EXPECT_EQ(r.status().code(), c.code) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.error)) << r.status();
  }
  auto no_policy = client_->LintPipeline(LintRequest(v1::PolicySource(), kPipeline));
  EXPECT_EQ(no_policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(no_policy.status().message(), "policy")) << no_policy.status();
  auto unknown_org = client_->LintPipeline(LintRequest(Org("nobody"), kPipeline));
  EXPECT_EQ(unknown_org.status().code(), absl::StatusCode::kNotFound);
  // Every refusal is on record, as a refused Decide is: one line each, with
  // its code and error.
  server_->Shutdown();
  server_.reset();
  const std::string log = testing::ReadAll((dir_ / "decisions.log").string());
  std::vector<std::string> refused;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "\"rpc\":\"LintPipeline\"") &&
        !absl::StrContains(line, "\"status\":\"OK\"")) {
      refused.emplace_back(line);
    }
  }
  ASSERT_EQ(refused.size(), std::size(cases) + 2) << log;
  EXPECT_TRUE(absl::StrContains(refused[1], "\"status\":\"INVALID_ARGUMENT\"")) << refused[1];
  EXPECT_TRUE(absl::StrContains(refused[1], "pipeline.stages: expected a list")) << refused[1];
  EXPECT_TRUE(absl::StrContains(refused.back(), "\"status\":\"NOT_FOUND\"")) << refused.back();
}

// A real-looking pipeline of about `target_bytes` (at most one block more):
// the payments pipeline of tests/pipelines/documents, its unit-test step
// running a monorepo's whole test script, with its three stages repeated
// (identifiers numbered) until the document is that large. One build per
// block.
std::string GrowPipeline(std::size_t target_bytes) {
  const std::string source =
      testing::ReadAll(std::string(BUILDGATE_SOURCE_DIR) +
                       "/tests/pipelines/documents/acme-payments-three-stages.yaml");
  const std::size_t split = source.find("  stages:\n");
  EXPECT_NE(split, std::string::npos);
  const std::string indent(22, ' ');
  std::string script = indent + "set -euo pipefail\n" + indent + "go vet ./...\n";
  for (const char* pkg : {"ledger",        "payouts",   "refunds",   "disputes",      "fx",
                          "settlement",    "kyc",       "webhooks",  "reporting",     "scheduler",
                          "notifications", "audit",     "ratelimit", "idempotency",   "tokens",
                          "accounts",      "merchants", "invoices",  "subscriptions", "taxes",
                          "wallets",       "transfers"}) {
    absl::StrAppend(&script, indent, "echo \"--- integration: ", pkg, "\"\n", indent,
                    "go test ./internal/", pkg, "/... -tags=integration -count=1 -timeout 10m ",
                    "-coverpkg=./internal/", pkg, "/... -coverprofile=coverage-", pkg, ".out\n");
  }
  absl::StrAppend(&script, indent, "go test ./... -coverprofile=coverage.out");
  const std::string stages = absl::StrReplaceAll(
      source.substr(split + 10), {{indent + "go test ./... -coverprofile=coverage.out", script}});
  std::string out = source.substr(0, split + 10);
  for (int i = 0; out.size() < target_bytes; ++i) {
    for (absl::string_view line : absl::StrSplit(stages, '\n', absl::SkipEmpty())) {
      absl::StrAppend(&out, line);
      if (absl::StrContains(line, "identifier: ") || absl::StrContains(line, "useFromStage: ")) {
        absl::StrAppend(&out, "_", i);
      }
      out.push_back('\n');
    }
  }
  return out;
}

// The google.rpc.BadRequest and buildgate.v1.InputError details of a gRPC
// error (the InputError left empty when absent).
void RichDetails(const grpc::Status& s, google::rpc::BadRequest* bad, v1::InputError* where) {
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details())) << s.error_message();
  bool found_bad = false;
  for (const google::protobuf::Any& any : details.details()) {
    if (any.Is<google::rpc::BadRequest>()) found_bad = any.UnpackTo(bad);
    if (any.Is<v1::InputError>()) {
      ASSERT_TRUE(any.UnpackTo(where));
    }
  }
  ASSERT_TRUE(found_bad) << s.error_message();
  ASSERT_EQ(bad->field_violations_size(), 1);
}

// Proves the rich-error details of LintPipeline, ValidatePolicy and
// DecideBatch carry the field, file, line and column as data (from the
// error's payload, not its message), and the client hands them back on the
// status; the messages are as before.
TEST_F(ServiceTest, BadRequestCarriesFileLineColumnAndField) {
  Start();
  auto stub = v1::BuildGateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->tcp_port()), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    v1::LintPipelineResponse response;
    const grpc::Status s =
        stub->LintPipeline(&ctx, LintRequest(Org("acme"), "pipeline:\n  stages: {}\n"), &response);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "document: .harness/storefront.yaml:2:11: pipeline.stages: expected a list");
    google::rpc::BadRequest bad;
    v1::InputError where;
    RichDetails(s, &bad, &where);
    EXPECT_EQ(bad.field_violations(0).field(), "document");
    EXPECT_EQ(bad.field_violations(0).description(),
              ".harness/storefront.yaml:2:11: pipeline.stages: expected a list");
    EXPECT_EQ(where.file(), ".harness/storefront.yaml");
    EXPECT_EQ(where.line(), 2);
    EXPECT_EQ(where.column(), 11);
    EXPECT_EQ(where.field(), "document");
    EXPECT_EQ(where.message(), s.error_message());
  }
  {
    // A YAML syntax error in the document.
    grpc::ClientContext ctx;
    v1::LintPipelineResponse response;
    const grpc::Status s =
        stub->LintPipeline(&ctx, LintRequest(Org("acme"), "pipeline:\n  stages: [ {a: 1}\n"), &response);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    google::rpc::BadRequest bad;
    v1::InputError where;
    RichDetails(s, &bad, &where);
    EXPECT_EQ(bad.field_violations(0).field(), "document");
    EXPECT_EQ(where.file(), ".harness/storefront.yaml");
    EXPECT_EQ(where.line(), 3);
    EXPECT_EQ(where.column(), 1);
  }
  {
    // The client reads the details back into the status's payload.
    auto r = client_->LintPipeline(LintRequest(Org("acme"), "pipeline:\n  stages: {}\n"));
    ASSERT_FALSE(r.ok());
    const InputLocation at = GetInputLocation(r.status());
    EXPECT_EQ(at.file, ".harness/storefront.yaml");
    EXPECT_EQ(at.line, 2);
    EXPECT_EQ(at.column, 11);
    EXPECT_EQ(at.field, "document");
  }
  {
    // An inline policy that does not compile, nested under its request field.
    v1::PolicySource inline_policy;
    v1::PolicySet set = Set(kAcme);
    set.mutable_overrides(0)->mutable_policy()->set_root(v1::ROOT_ALLOWED);
    *inline_policy.mutable_inline_policy() = set;
    grpc::ClientContext ctx;
    v1::LintPipelineResponse response;
    const grpc::Status s = stub->LintPipeline(&ctx, LintRequest(inline_policy, kPipeline), &response);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(s.error_message(), "policy.inline_policy.overrides[0].policy.root: "))
        << s.error_message();
    google::rpc::BadRequest bad;
    v1::InputError where;
    RichDetails(s, &bad, &where);
    EXPECT_EQ(bad.field_violations(0).field(), "policy.inline_policy.overrides[0].policy.root");
  }
  {
    // ValidatePolicy without a policy set: a bad request naming it.
    grpc::ClientContext ctx;
    v1::ValidatePolicyResponse response;
    const grpc::Status s = stub->ValidatePolicy(&ctx, v1::ValidatePolicyRequest(), &response);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    google::rpc::BadRequest bad;
    v1::InputError where;
    RichDetails(s, &bad, &where);
    EXPECT_EQ(bad.field_violations(0).field(), "policy_set");
    EXPECT_EQ(bad.field_violations(0).description(), "required");
  }
  {
    // An invalid policy set is an answer (valid: false) with its error as data.
    v1::PolicySet loose = Set(kAcme);
    loose.mutable_overrides(0)->mutable_policy()->set_root(v1::ROOT_ALLOWED);
    auto bad = client_->ValidatePolicy(loose);
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(bad->valid());
    EXPECT_EQ(bad->error_detail().message(), bad->error());
    EXPECT_EQ(bad->error_detail().field(), "policy_set.overrides[0].policy.root");
  }
  {
    // DecideBatch: the step's field renamed to its place in the batch, with
    // the offending value quoted.
    v1::DecideBatchRequest request;
    *request.mutable_policy() = Org("acme");
    *request.add_steps() = Step(kEcrStep);
    *request.add_steps() = Step(kEcrStep);
    request.mutable_steps(1)->set_repo("acme/api:v1");
    grpc::ClientContext ctx;
    v1::DecideBatchResponse response;
    const grpc::Status s = stub->DecideBatch(&ctx, request, &response);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_TRUE(absl::StartsWith(s.error_message(), "steps[1].repo: \"acme/api:v1\": ")) << s.error_message();
    google::rpc::BadRequest bad;
    v1::InputError where;
    RichDetails(s, &bad, &where);
    EXPECT_EQ(bad.field_violations(0).field(), "steps[1].repo");
    EXPECT_EQ(where.field(), "steps[1].repo");
    EXPECT_EQ(where.value(), "\"acme/api:v1\"");
  }
}

// Proves LintPipeline and DiffPolicies take real-sized pipelines (100 KB and
// 1 MB, under the default 1 MiB document limit, not the 8 KiB string limit)
// and decide every build in them; a document one byte over the limit is
// refused naming the field and the limit.
TEST_F(ServiceTest, LintAndDiffTakeRealSizedPipelines) {
  Start();
  for (const std::size_t size : {std::size_t{100} * 1000, std::size_t{1000} * 1000}) {
    const std::string document = GrowPipeline(size);
    ASSERT_LE(document.size(), InputLimits().max_document_bytes);
    std::size_t builds = 0;
    for (std::size_t at = 0;
         (at = document.find("type: BuildAndPushDockerRegistry", at)) != std::string::npos; ++at) {
      ++builds;
    }
    auto lint = client_->LintPipeline(LintRequest(Org("acme"), document));
    ASSERT_TRUE(lint.ok()) << document.size() << " bytes: " << lint.status();
    EXPECT_EQ(lint->report().findings_size(), static_cast<int>(builds))
        << document.size() << " bytes";
    v1::DiffPoliciesRequest diff;
    *diff.mutable_from() = Org("acme");
    *diff.mutable_to() = Org("globex");
    diff.add_documents()->set_document(document);
    auto r = client_->DiffPolicies(diff);
    ASSERT_TRUE(r.ok()) << document.size() << " bytes: " << r.status();
    EXPECT_EQ(r->diff().builds(), static_cast<int>(builds));
  }
  std::string too_big = GrowPipeline(1000 * 1000);
  const std::size_t limit = InputLimits().max_document_bytes;
  too_big += "# " + std::string(limit + 1 - too_big.size() - 3, 'x') + "\n";
  ASSERT_EQ(too_big.size(), limit + 1);
  auto lint = client_->LintPipeline(LintRequest(Org("acme"), too_big));
  EXPECT_EQ(lint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      lint.status().message(),
      "document: document of 1048577 bytes is too large (limit max_document_bytes = 1048576)");
  v1::DiffPoliciesRequest diff;
  *diff.mutable_from() = Org("acme");
  *diff.mutable_to() = Org("globex");
  diff.add_documents()->set_document(too_big);
  auto r = client_->DiffPolicies(diff);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "documents[0].document: document of 1048577 bytes is too large (limit "
            "max_document_bytes = 1048576)");
}

// Proves a document's file name may be as long as a Linux path (PATH_MAX,
// 4096 bytes), as `buildgate lint --server` sends it, and is named in the
// findings; a longer one is refused naming the field and the limit.
TEST_F(ServiceTest, LintPipelineTakesPathLongFileNames) {
  Start();
  std::string path = "/home/ci/workspace";
  while (path.size() < 4000) path += "/monorepo-services-payments-api-deployments";
  path += "/.harness/storefront.yaml";
  ASSERT_GT(path.size(), 256u);
  ASSERT_LE(path.size(), kMaxFileNameBytes);
  v1::LintPipelineRequest request = LintRequest(Org("acme"), kPipeline);
  request.set_file_name(path);
  auto r = client_->LintPipeline(request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->report().findings_size(), 1);
  EXPECT_EQ(r->report().findings(0).location().file(), path);
  request.set_file_name(std::string(kMaxFileNameBytes + 1, 'p'));
  auto refused = client_->LintPipeline(request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "file_name: at most 4096 bytes (PATH_MAX), no control characters");
}

// Proves DiffPolicies compares a stored and an inline policy over documents:
// the changed builds, counted and grouped; a bad document or policy fails
// the call naming it.
TEST_F(ServiceTest, DiffPoliciesStoredAgainstInline) {
  Start();
  v1::DiffPoliciesRequest request;
  *request.mutable_from() = Org("acme");
  // The payments project's override is gone in the proposal.
  *request.mutable_to()->mutable_inline_policy() =
      Set("org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n");
  v1::PipelineDocument* doc = request.add_documents();
  doc->set_file_name("storefront.yaml");
  doc->set_document(kPipeline);
  v1::PipelineDocument* other = request.add_documents();
  other->set_document(absl::StrReplaceAll(kPipeline, {{"projectIdentifier: payments", "projectIdentifier: web"}}));
  auto r = client_->DiffPolicies(request);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::PolicyDiff& diff = r->diff();
  EXPECT_EQ(diff.files(), 2);
  EXPECT_EQ(diff.builds(), 2);
  ASSERT_EQ(diff.changed(), 1);  // Only the payments build: deny -> Buildah.
  EXPECT_EQ(diff.changes(0).location().file(), "storefront.yaml");
  EXPECT_EQ(diff.changes(0).from().verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(diff.changes(0).to().builder(), v1::BUILDER_BUILDAH);
  ASSERT_EQ(diff.groups_size(), 1);
  EXPECT_EQ(diff.groups(0).count(), 1);

  v1::DiffPoliciesRequest bad = request;
  bad.mutable_documents(1)->set_document("pipeline:\n  stages: 3\n");
  auto refused = client_->DiffPolicies(bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "documents[1]: from: document-1.yaml:2:11"))
      << refused.status();
  v1::DiffPoliciesRequest unknown = request;
  unknown.mutable_from()->set_org_id("nobody");
  auto missing = client_->DiffPolicies(unknown);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "from.org_id")) << missing.status();
  v1::DiffPoliciesRequest empty = request;
  empty.clear_documents();
  EXPECT_EQ(client_->DiffPolicies(empty).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace buildgate
