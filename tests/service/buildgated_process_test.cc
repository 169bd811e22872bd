// Process-level end-to-end tests: the real buildgated binary, started on a
// free port and a unix socket, driven by the real buildgate CLI.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include "client/buildgate_client.h"
#include "input/proto_text.h"
#include "gtest/gtest.h"
#include "tests/testing/json.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;
using testing::ReadAll;
using testing::RunCommand;
using testing::Subprocess;

const std::string kBin = BUILDGATE_BINARY_DIR;
const std::string kSrc = BUILDGATE_SOURCE_DIR;
const std::string kCli = kBin + "/client/buildgate";
const std::string kSecret = "Sup3r-S3cret-Pa55w0rd";

class Daemon {
 public:
  Daemon(const fs::path& dir, std::vector<std::string> extra) : dir_(dir) {
    const std::vector<std::string> defaults = {"--listen=127.0.0.1:0",
                                               "--metrics_address=127.0.0.1:0",
                                               "--port_file=" + (dir / "port").string(),
                                               "--decision_log=" + (dir / "decisions.log").string(),
                                               "--reload_interval=50ms"};
    // A flag given twice is an error: `extra` replaces a default it names.
    std::vector<std::string> argv = {kBin + "/service/buildgated"};
    for (const std::string& d : defaults) {
      const std::string name = d.substr(0, d.find('=') + 1);
      if (std::none_of(extra.begin(), extra.end(),
                       [&](const std::string& e) { return absl::StartsWith(e, name); })) {
        argv.push_back(d);
      }
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(argv, (dir / "stdout").string(), (dir / "stderr").string());
    if (testing::WaitForFile((dir / "port").string(), 20)) {
      std::vector<std::string> lines = absl::StrSplit(ReadAll((dir / "port").string()), '\n');
      if (lines.size() >= 2) {
        (void)absl::SimpleAtoi(lines[0], &port_);
        (void)absl::SimpleAtoi(lines[1], &metrics_port_);
      }
    }
  }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return process_->pid(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // SIGKILL, as a crash: nothing is cleaned up.
  void Kill() {
    process_->Signal(SIGKILL);
    process_->Wait(30);
  }
  // SIGTERM and the exit code (-1 on timeout).
  int Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(30);
  }
  std::string AllOutput() const {
    return ReadAll((dir_ / "stdout").string()) + ReadAll((dir_ / "stderr").string()) +
           ReadAll((dir_ / "decisions.log").string());
  }

 private:
  fs::path dir_;
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
  int metrics_port_ = 0;
};

// The stored org and the step the load, failover and transport tests decide
// over and over (an allow under the embedded acme set and under r1/r2).
v1::PolicySource AcmeOrg() {
  v1::PolicySource src;
  src.set_org_id("acme");
  return src;
}

v1::BuildStep WebStep() {
  v1::BuildStep step;
  step.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
  step.set_repo("acme/web");
  return step;
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDirectory("bg_proc");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// A loopback TCP connection to `port`, or -1.
int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

// GET `path` over HTTP/1.0; "" when nothing came back within `timeout_s`
// of silence.
std::string HttpGet(int port, const std::string& path, int timeout_s = 60) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  const timeval timeout{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string response;
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)::write(fd, request.data(), request.size());
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  ::close(fd);
  return response;
}

// The resident memory of process `pid` (VmRSS), KiB; 0 if unreadable.
long ResidentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    long kib = 0;
    const absl::string_view number = absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB");
    return absl::SimpleAtoi(number, &kib) ? kib : 0;
  }
  return 0;
}

// Proves the binary serves the embedded examples on TCP and a unix socket,
// the remote CLI prints exactly what offline mode prints, metrics are served
// over HTTP, and SIGTERM exits 0 with the decision log flushed.
TEST_F(ProcessTest, ServesTcpAndUnixSocketLikeOfflineMode) {
  const std::string sock = Path("bg.sock");
  Daemon d(dir_, {"--unix_socket=" + sock});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  auto health = RunCommand(kCli + " health --server " + d.address());
  EXPECT_EQ(health.exit_code, 0) << health.out;
  EXPECT_TRUE(absl::StrContains(health.out, "SERVING")) << health.out;
  auto status = RunCommand(kCli + " status --server " + d.address());
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_TRUE(absl::StrContains(status.out, "policy sets: 5 from embedded")) << status.out;

  const std::string step = kSrc + "/examples/steps/build-and-push-ecr.yaml";
  const std::string policy = kSrc + "/examples/policies/acme.yaml";
  auto offline = RunCommand(kCli + " decide --policy " + policy + " --step " + step);
  EXPECT_EQ(offline.exit_code, 10);
  for (const std::string& server : {d.address(), "unix:" + sock}) {
    auto stored = RunCommand(kCli + " decide --server " + server + " --org acme --step " + step);
    EXPECT_EQ(stored.exit_code, 10) << server << stored.out;
    // The same text, after the decision id only a server gives.
    ASSERT_TRUE(absl::StartsWith(stored.out, "decision id:  ")) << stored.out;
    EXPECT_EQ(stored.out.substr(stored.out.find('\n') + 1), offline.out) << server;
    auto inline_policy = RunCommand(kCli + " decide --server " + server + " --policy " + policy +
                                    " --step " + step + " -o json");
    EXPECT_EQ(inline_policy.exit_code, 10);
    auto offline_json = RunCommand(kCli + " decide --policy " + policy + " --step " + step + " -o json");
    EXPECT_EQ(inline_policy.out, offline_json.out);
  }
  auto unknown = RunCommand(kCli + " decide --server " + d.address() + " --org nobody --step " + step, true);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(unknown.out, "NOT_FOUND")) << unknown.out;
  auto valid = RunCommand(kCli + " validate --server " + d.address() + " --policy " + policy);
  EXPECT_EQ(valid.exit_code, 0) << valid.out;

  const std::string metrics = HttpGet(d.metrics_port(), "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics, "buildgate_decisions_total{builder=\"BUILDER_BUILDAH\""))
      << metrics.substr(0, 500);
  EXPECT_TRUE(absl::StrContains(metrics, "buildgate_policy_sets_loaded 5"));

  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
  const std::string log = ReadAll(Path("decisions.log"));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 5) << log;  // 4 decisions + 1 NOT_FOUND.
  EXPECT_TRUE(absl::StrContains(log, "\"verdict\":\"VERDICT_ALLOW_WITH_CHANGES\""));
  auto down = RunCommand(kCli + " health --server " + d.address() + " --timeout 300ms");
  EXPECT_EQ(down.exit_code, 3);
}

// Proves a SIGTERM during load drains: every decision a client received is in
// the flushed log, calls refused while stopping are UNAVAILABLE (or CANCELLED
// when gRPC had not started them), and the exit code is 0.
TEST_F(ProcessTest, SigtermDrainsAndFlushes) {
  Daemon d(dir_, {"--shutdown_delay=200ms"});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      ClientOptions c;
      c.target = d.address();
      c.max_attempts = 1;
      c.deadline = absl::Seconds(2);
      auto client = *BuildGateClient::Create(c);
      const v1::PolicySource src = AcmeOrg();
      const v1::BuildStep step = WebStep();
      while (!stop.load()) {
        auto r = client->Decide(src, step);
        if (r.ok()) {
          ++ok;
        } else if (r.status().code() == absl::StatusCode::kUnavailable ||
                   r.status().code() == absl::StatusCode::kCancelled) {
          ++unavailable;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        } else {
          ++other;
          ADD_FAILURE() << "unexpected status during drain: " << r.status();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GT(ok.load(), 10);
  EXPECT_GT(unavailable.load(), 0) << "no call saw the server stopping";
  EXPECT_EQ(other.load(), 0);
  const std::string log = ReadAll(Path("decisions.log"));
  int logged_ok = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "\"status\":\"OK\"")) ++logged_ok;
  }
  EXPECT_EQ(logged_ok, ok.load()) << "decisions answered but not logged (or the reverse)";
  const absl::Status whole = testing::EveryLineIsJsonObject(log);
  EXPECT_TRUE(whole.ok()) << whole;
}

// Proves a password sent in steps never appears in stdout, stderr or the
// decision log, whatever the request.
TEST_F(ProcessTest, SecretsNeverLogged) {
  Daemon d(dir_, {"--decision_log=-"});  // Decision log on stdout this time.
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  ClientOptions c;
  c.target = d.address();
  auto client = *BuildGateClient::Create(c);
  v1::PolicySource acme;
  acme.set_org_id("acme");
  std::vector<v1::BuildStep> steps;
  for (const char* yaml :
       {"kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker:1.1.0-linux-amd64\nrepo: acme/web\n",
        "kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme/web\n",
        "kind: STEP_KIND_BUILD_AND_PUSH_ECR\nrepo: acme/web\n",  // Invalid: no registry.
        "repo: acme/web\n"}) {                                  // Invalid: no kind.
    v1::BuildStep step;
    ASSERT_TRUE(ParseYamlToMessage(yaml, "s", &step).ok());
    step.mutable_credentials()->set_username("bot");
    step.mutable_credentials()->set_password(kSecret);
    steps.push_back(step);
    v1::BuildStep with_control = step;
    with_control.mutable_credentials()->set_password(kSecret + "\n");
    steps.push_back(with_control);
  }
  for (const auto& step : steps) {
    (void)client->Decide(acme, step);
    v1::PolicySet inline_set;
    ASSERT_TRUE(ParseYamlToMessage("org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n",
                                   "p", &inline_set).ok());
    auto r = client->DecideWithPolicy(inline_set, step);
    if (r.ok()) {
      EXPECT_FALSE(absl::StrContains(r->DebugString(), kSecret));
    }
    v1::DecideBatchRequest batch;
    *batch.mutable_policy() = acme;
    *batch.add_steps() = step;
    (void)client->DecideBatch(batch);
  }
  // A policy file may carry an inline secret-looking value too; it is data,
  // but the step password is what must never be printed.
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
  const std::string all = d.AllOutput();
  EXPECT_GT(all.size(), 500u);
  EXPECT_TRUE(absl::StrContains(all, "\"rpc\":\"Decide\""));
  EXPECT_FALSE(absl::StrContains(all, kSecret)) << "a password leaked into the output";
  EXPECT_FALSE(absl::StrContains(all, "Sup3r")) << "part of a password leaked into the output";
  // The decision log has stdout to itself and the operational log is on
  // stderr: every line of each parses as one JSON object (was: spdlog's
  // text lines interleaved with the decision log on stdout).
  int decision_lines = 0, log_lines = 0;
  const std::string stdout_text = ReadAll(Path("stdout"));
  const std::string stderr_text = ReadAll(Path("stderr"));
  EXPECT_TRUE(testing::EveryLineIsJsonObject(stdout_text, &decision_lines).ok())
      << testing::EveryLineIsJsonObject(stdout_text) << "\n" << stdout_text;
  EXPECT_TRUE(testing::EveryLineIsJsonObject(stderr_text, &log_lines).ok())
      << testing::EveryLineIsJsonObject(stderr_text) << "\n" << stderr_text;
  EXPECT_GE(decision_lines, 24);  // Every Decide, inline Decide and batch above.
  EXPECT_GE(log_lines, 3);        // Loaded, serving, draining, stopped.
  EXPECT_TRUE(absl::StrContains(stderr_text, "\"level\":\"info\"")) << stderr_text;
  EXPECT_TRUE(absl::StrContains(stderr_text, "\"message\":\"policy sets loaded\",\"fields\":{\"sets\":\"5\""))
      << stderr_text;
  EXPECT_FALSE(absl::StrContains(stdout_text, "\"level\":")) << stdout_text;
}

// Proves a second buildgated on a taken port exits non-zero at once, naming
// the address and why (was: gRPC's SO_REUSEPORT let it start and take a
// share of the traffic), and says nothing of serving.
TEST_F(ProcessTest, SecondServerOnTakenPortFails) {
  Daemon first(dir_, {});
  ASSERT_GT(first.port(), 0) << first.AllOutput();
  const std::string address = first.address();
  auto second = RunCommand(kBin + "/service/buildgated --listen=" + address +
                               " --metrics_address= --decision_log=",
                           true);
  EXPECT_EQ(second.exit_code, 2) << second.out;
  EXPECT_TRUE(absl::StrContains(second.out, "--listen=" + address + ": Address already in use"))
      << second.out;
  EXPECT_FALSE(absl::StrContains(second.out, "\"serving\"")) << second.out;
  // The metrics port taken: the same, naming that address.
  auto metrics = RunCommand(kBin + "/service/buildgated --listen=127.0.0.1:0 --metrics_address=127.0.0.1:" +
                                std::to_string(first.metrics_port()) + " --decision_log=",
                            true);
  EXPECT_EQ(metrics.exit_code, 2) << metrics.out;
  EXPECT_TRUE(absl::StrContains(metrics.out, "--metrics_address 127.0.0.1:" +
                                                 std::to_string(first.metrics_port())))
      << metrics.out;
  EXPECT_FALSE(absl::StrContains(metrics.out, "\"serving\"")) << metrics.out;
  EXPECT_EQ(first.Stop(), 0) << first.AllOutput();
}

// Generates a CA, a server certificate for localhost and a client certificate.
bool MakeCertificates(const fs::path& dir) {
  const std::string d = dir.string();
  const std::string script = absl::StrCat(
      "set -e; cd ", d, ";",
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem;",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr;",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext;",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem;",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=pipeline-governance -keyout client.key -out client.csr;",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem;",
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rogue -keyout rogue.key -out rogue.pem");
  return RunCommand("(" + script + ") >/dev/null 2>&1").exit_code == 0;
}

// Proves TLS works and a plaintext client is refused.
TEST_F(ProcessTest, Tls) {
  ASSERT_TRUE(MakeCertificates(dir_));
  Daemon d(dir_, {"--tls_cert=" + Path("server.pem"), "--tls_key=" + Path("server.key")});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  const std::string step = kSrc + "/examples/steps/build-and-push-ecr.yaml";
  auto ok = RunCommand(kCli + " decide --server localhost:" + std::to_string(d.port()) +
                       " --tls_ca " + Path("ca.pem") + " --org acme --step " + step, true);
  EXPECT_EQ(ok.exit_code, 10) << ok.out;
  auto plain = RunCommand(kCli + " health --server " + d.address() + " --timeout 1s", true);
  EXPECT_EQ(plain.exit_code, 3) << plain.out;
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

// Proves mutual TLS: no client certificate, or one from another CA, is refused,
// and the CLI says that "Socket closed" may be that refusal.
TEST_F(ProcessTest, MutualTls) {
  ASSERT_TRUE(MakeCertificates(dir_));
  Daemon d(dir_, {"--tls_cert=" + Path("server.pem"), "--tls_key=" + Path("server.key"),
                  "--tls_client_ca=" + Path("ca.pem")});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  const std::string target = " --server localhost:" + std::to_string(d.port()) + " --tls_ca " + Path("ca.pem");
  auto without = RunCommand(kCli + " health" + target + " --timeout 1s", true);
  EXPECT_EQ(without.exit_code, 3) << without.out;
  // The client is told what "Socket closed" may mean here.
  EXPECT_TRUE(absl::StrContains(without.out,
                                "how a server refuses the client certificate: none "
                                "was given (--tls_cert, --tls_key)"))
      << without.out;
  auto rogue = RunCommand(kCli + " health" + target + " --tls_cert " + Path("rogue.pem") +
                          " --tls_key " + Path("rogue.key") + " --timeout 1s", true);
  EXPECT_EQ(rogue.exit_code, 3) << rogue.out;
  EXPECT_TRUE(absl::StrContains(
      rogue.out, "is " + Path("rogue.pem") + " signed by the server's --tls_client_ca?"))
      << rogue.out;
  auto with = RunCommand(kCli + " health" + target + " --tls_cert " + Path("client.pem") +
                         " --tls_key " + Path("client.key"), true);
  EXPECT_EQ(with.exit_code, 0) << with.out;
  EXPECT_TRUE(absl::StrContains(with.out, "SERVING"));
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

// Writes a self-signed certificate for localhost valid from `from_days` to
// `to_days` days from now (negative: in the past), and its key, as PEM (the
// openssl CLI cannot date a certificate in the past).
bool WriteSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                long from_days, long to_days) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    ok = X509_sign(cert, key, EVP_sha256()) > 0;
  }
  FILE* c = ok ? std::fopen(cert_path.c_str(), "w") : nullptr;
  FILE* k = ok ? std::fopen(key_path.c_str(), "w") : nullptr;
  ok = c != nullptr && k != nullptr && PEM_write_X509(c, cert) == 1 &&
       PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c != nullptr) std::fclose(c);
  if (k != nullptr) std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

// Proves TLS files are checked at start: a file with no certificate (or
// unencrypted key) in it, or a key of another certificate, fails the start naming the
// flag, the file and why, not "cannot listen"; an expired server
// certificate starts with a warning naming the file and the expiry date.
TEST_F(ProcessTest, TlsFileProblemsAreNamed) {
  ASSERT_TRUE(MakeCertificates(dir_));
  const std::string garbage = Path("garbage.pem");
  std::ofstream(garbage) << "not a certificate\n";
  ASSERT_EQ(RunCommand("openssl pkey -in " + Path("server.key") +
                       " -aes256 -passout pass:secret -out " + Path("encrypted.key"))
                .exit_code,
            0);
  const std::string start =
      kBin + "/service/buildgated --listen=127.0.0.1:0 --metrics_address= --decision_log=";
  struct Case {
    std::string flags;
    std::string error;
  };
  const Case cases[] = {
      {" --tls_cert=" + garbage + " --tls_key=" + Path("server.key"),
       "--tls_cert=" + garbage + ": no PEM certificate in it"},
      {" --tls_cert=" + Path("server.pem") + " --tls_key=" + garbage,
       "--tls_key=" + garbage + ": no unencrypted PEM private key in it"},
      {" --tls_cert=" + Path("server.pem") + " --tls_key=" + Path("encrypted.key"),
       "--tls_key=" + Path("encrypted.key") + ": no unencrypted PEM private key in it"},
      {" --tls_cert=" + Path("server.pem") + " --tls_key=" + Path("rogue.key"),
       "--tls_key=" + Path("rogue.key") + ": is not the key of the certificate in --tls_cert=" +
           Path("server.pem")},
      {" --tls_cert=" + Path("server.pem") + " --tls_key=" + Path("server.key") +
           " --tls_client_ca=" + garbage,
       "--tls_client_ca=" + garbage + ": no PEM certificate in it"},
  };
  for (const Case& c : cases) {
    auto r = RunCommand(start + c.flags, true);
    EXPECT_EQ(r.exit_code, 2) << c.flags << "\n" << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, c.error)) << c.flags << "\n" << r.out;
    EXPECT_FALSE(absl::StrContains(r.out, "cannot listen")) << r.out;
  }

  ASSERT_TRUE(WriteSelfSignedCertificate(Path("expired.pem"), Path("expired.key"), -30, -1));
  const std::string expired_on =
      absl::FormatTime("%Y-%m-%d", absl::Now() - absl::Hours(24), absl::UTCTimeZone());
  Daemon d(dir_, {"--tls_cert=" + Path("expired.pem"), "--tls_key=" + Path("expired.key")});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  const std::string err = ReadAll(Path("stderr"));
  EXPECT_TRUE(absl::StrContains(err, "the server certificate is not valid now")) << err;
  EXPECT_TRUE(absl::StrContains(err, Path("expired.pem"))) << err;
  EXPECT_TRUE(absl::StrContains(err, "expired at " + expired_on)) << err;
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

// Proves a stored-policy-only server (inline off) refuses inline policies.
TEST_F(ProcessTest, InlinePoliciesOff) {
  Daemon d(dir_, {"--allow_inline_policies=false"});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  const std::string step = kSrc + "/examples/steps/build-and-push-ecr.yaml";
  auto r = RunCommand(kCli + " decide --server " + d.address() + " --policy " + kSrc +
                      "/examples/policies/acme.yaml --step " + step, true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.out, "PERMISSION_DENIED")) << r.out;
  EXPECT_EQ(RunCommand(kCli + " decide --server " + d.address() + " --org acme --step " + step).exit_code, 10);
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

// Proves bad flags fail fast with a clear message and exit code 2.
TEST_F(ProcessTest, BadStartupFlags) {
  auto r = RunCommand(kBin + "/service/buildgated --listen= --unix_socket= --metrics_address=", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.out, "nothing to listen on")) << r.out;
  auto tls = RunCommand(kBin + "/service/buildgated --listen=127.0.0.1:0 --metrics_address= --tls_cert=/nonexistent.pem --tls_key=/nonexistent.key", true);
  EXPECT_EQ(tls.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(tls.out, "/nonexistent")) << tls.out;
  auto help = RunCommand(kBin + "/service/buildgated --help", true);
  EXPECT_EQ(help.exit_code, 0) << help.out;  // Was 1, with "Flags from .../main.cc".
  EXPECT_TRUE(absl::StrContains(help.out, "--policy_dir")) << help.out;
  EXPECT_FALSE(absl::StrContains(help.out, "main.cc")) << help.out;
  // Flags are grouped by task (service/flags.h), each group under its heading.
  for (const char* group : {"Listening:", "Policies:", "Logs:", "TLS:", "Shutdown:", "Limits:"}) {
    EXPECT_TRUE(absl::StrContains(help.out, group)) << group << "\n" << help.out;
  }
  EXPECT_LT(help.out.find("Policies:"), help.out.find("--policy_settle_time")) << help.out;
  auto version = RunCommand(kBin + "/service/buildgated --version", true);
  EXPECT_EQ(version.exit_code, 0) << version.out;
  EXPECT_TRUE(absl::StartsWith(version.out, "buildgated 0.")) << version.out;
  auto typo = RunCommand(kBin + "/service/buildgated --polcy_dir=/etc", true);
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(typo.out, "did you mean --policy_dir")) << typo.out;
  auto twice = RunCommand(kBin + "/service/buildgated --listen=127.0.0.1:0 --listen=127.0.0.1:1", true);
  EXPECT_EQ(twice.exit_code, 2) << twice.out;
  auto text = RunCommand(kBin + "/service/buildgated --listen= --unix_socket= --metrics_address= --log_format=text", true);
  EXPECT_TRUE(absl::StrContains(text.out, " error buildgated: cannot start error=nothing to listen on"))
      << text.out;
}

// Proves --unix_socket never deletes what is not a stale socket: a regular
// file at the path stays, and a socket another server is serving on is not
// taken over; a stale socket from a crashed run is replaced.
TEST_F(ProcessTest, UnixSocketOnlyReplacesStaleSockets) {
  const std::string file = Path("precious.txt");
  std::ofstream(file) << "not a socket\n";
  auto r = RunCommand(kBin + "/service/buildgated --listen= --metrics_address= --unix_socket=" + file, true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.out, "exists and is not a socket")) << r.out;
  EXPECT_EQ(ReadAll(file), "not a socket\n");

  const std::string sock = Path("bg.sock");
  {
    Daemon first(dir_, {"--unix_socket=" + sock});
    ASSERT_GT(first.port(), 0) << first.AllOutput();
    auto second = RunCommand(kBin + "/service/buildgated --listen= --metrics_address= --unix_socket=" + sock, true);
    EXPECT_EQ(second.exit_code, 2);
    EXPECT_TRUE(absl::StrContains(second.out, "another process is serving on it")) << second.out;
    EXPECT_EQ(RunCommand(kCli + " health --server unix:" + sock).exit_code, 0) << "the first lost its socket";
    first.Kill();  // Leaves the socket file behind, as a crash would.
  }
  ASSERT_TRUE(fs::exists(sock));
  fs::remove(Path("port"));
  Daemon again(dir_, {"--unix_socket=" + sock});
  ASSERT_GT(again.port(), 0) << again.AllOutput();
  EXPECT_EQ(RunCommand(kCli + " health --server unix:" + sock).exit_code, 0);
  EXPECT_EQ(again.Stop(), 0) << again.AllOutput();
}

// connect(2) to a unix socket as another user: `uid`, primary group `gid`,
// supplementary groups `groups`, in a forked child (the test runs as root).
// Returns 0 or the errno connect failed with.
int ConnectAs(const std::string& path, uid_t uid, gid_t gid, std::vector<gid_t> groups) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only system calls from here (the parent has threads).
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(99);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), std::min(path.size() + 1, sizeof(addr.sun_path) - 1));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    _exit(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Proves --unix_socket_mode: a sidecar's app container runs as another UID
// and shares only the pod's fsGroup with buildgated. With the default 0660
// a process of another UID in the socket's group connects and one outside
// it is refused; 0666 lets any UID connect; a mode that is not octal is a
// flag error.
TEST_F(ProcessTest, UnixSocketModeLetsTheSocketsGroupConnect) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as other users";
  const std::string sock = Path("bg.sock");
  struct stat st {};
  {
    Daemon d(dir_, {"--listen=", "--unix_socket=" + sock});
    ASSERT_TRUE(fs::exists(Path("port"))) << d.AllOutput();
    ASSERT_EQ(::stat(sock.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    EXPECT_EQ(ConnectAs(sock, 4242, 4242, {st.st_gid}), 0) << "a member of the socket's group";
    EXPECT_EQ(ConnectAs(sock, 4242, 4242, {4242}), EACCES) << "outside the socket's group";
    EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
  }
  fs::remove(Path("port"));
  {
    Daemon d(dir_, {"--listen=", "--unix_socket=" + sock, "--unix_socket_mode=0666"});
    ASSERT_EQ(::stat(sock.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0666u);
    EXPECT_EQ(ConnectAs(sock, 4242, 4242, {4242}), 0) << "0666: any UID";
    EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
  }
  auto bad = RunCommand(kBin + "/service/buildgated --listen= --unix_socket=" + sock + " --unix_socket_mode=rw", true);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.out, "--unix_socket_mode")) << bad.out;
}

// Proves dns:/// targets (how clients reach every pod behind a headless
// Service): the CLI and the C++ client resolve localhost to every address it
// has (127.0.0.1 and ::1 where configured) and round_robin over those that
// answer - the server listens on 127.0.0.1 only, so ::1 is a dead address
// they must step over.
TEST_F(ProcessTest, DnsTargetsBalanceOverTheAddressesThatAnswer) {
  Daemon d(dir_, {});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  const std::string target = absl::StrCat("dns:///localhost:", d.port());
  auto health = RunCommand(kCli + " health --server " + target);
  EXPECT_EQ(health.exit_code, 0) << health.out;
  auto decide = RunCommand(kCli + " decide --server " + target + " --org acme --step " +
                           std::string(BUILDGATE_SOURCE_DIR) + "/examples/steps/build-and-push-ecr.yaml");
  EXPECT_EQ(decide.exit_code, 10) << decide.out;
  ClientOptions c;
  c.target = target;
  auto client = *BuildGateClient::Create(c);
  const v1::PolicySource src = AcmeOrg();
  const v1::BuildStep step = WebStep();
  for (int i = 0; i < 20; ++i) {
    auto r = client->Decide(src, step);
    EXPECT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

// Proves --max_connection_age: a client calling steadily is moved to new
// connections (the decision log's caller shows new client ports) without a
// single failed call, so clients spread over replicas added later.
TEST_F(ProcessTest, MaxConnectionAgeRecyclesConnectionsWithoutFailures) {
  Daemon d(dir_, {"--max_connection_age=500ms", "--max_connection_age_grace=2s"});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  ClientOptions c;
  c.target = d.address();
  auto client = *BuildGateClient::Create(c);
  const v1::PolicySource src = AcmeOrg();
  const v1::BuildStep step = WebStep();
  int failed = 0;
  const absl::Time end = absl::Now() + absl::Seconds(2);
  while (absl::Now() < end) {
    auto r = client->Decide(src, step);
    if (!r.ok()) ++failed;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
  // "caller":"ipv4:127.0.0.1:PORT": one client port per connection.
  std::set<std::string> connections;
  for (absl::string_view line : absl::StrSplit(ReadAll(Path("decisions.log")), '\n')) {
    const std::size_t at = line.find("\"caller\":\"");
    if (at != absl::string_view::npos) {
      connections.insert(std::string(line.substr(at, line.find('"', at + 10) - at)));
    }
  }
  EXPECT_GE(connections.size(), 3u) << "2 s of calls with connections aged out every 500 ms";
}

// Proves three replicas behind one multi-address target (the client's
// round_robin) survive a SIGTERM and a SIGKILL mid-load, restarts, and a
// policy change rolled to all of them: no decision fails at the client,
// every answered decision is in some replica's decision log, and the new
// revision is served everywhere (the time it took is printed).
TEST_F(ProcessTest, ThreeReplicasFailOverWithNothingLost) {
  fs::create_directories(dir_ / "policies");
  auto write_policy = [&](const std::string& revision) {
    const fs::path tmp = dir_ / "policies" / ".acme.tmp";
    std::ofstream(tmp) << "org_id: acme\npolicy: {revision: \"" << revision
                       << "\", root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n";
    fs::rename(tmp, dir_ / "policies" / "acme.yaml");
  };
  write_policy("r1");
  // Each incarnation gets its own directory (port file, decision log).
  int incarnation = 0;
  auto start = [&](int port) {
    const fs::path d = dir_ / absl::StrCat("replica", incarnation++);
    fs::create_directories(d);
    return std::make_unique<Daemon>(
        d, std::vector<std::string>{absl::StrCat("--listen=127.0.0.1:", port),
                                    "--policy_dir=" + (dir_ / "policies").string(),
                                    "--policy_settle_time=0s", "--reload_interval=50ms",
                                    "--shutdown_delay=300ms", "--metrics_address="});
  };
  std::vector<std::unique_ptr<Daemon>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(start(0));
    ASSERT_GT(replicas.back()->port(), 0) << replicas.back()->AllOutput();
  }
  std::vector<int> ports;
  for (const auto& r : replicas) ports.push_back(r->port());
  const std::string target = absl::StrCat("ipv4:127.0.0.1:", ports[0], ",127.0.0.1:", ports[1],
                                          ",127.0.0.1:", ports[2]);

  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  absl::Mutex mu;
  std::vector<std::string> ids;            // Every decision id a client received.
  // Replicas (decision-id prefixes) that answered, per policy revision.
  std::map<std::string, std::set<std::string>> revisions;
  std::string last_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      ClientOptions c;
      c.target = target;
      c.deadline = absl::Seconds(2);
      auto client = *BuildGateClient::Create(c);
      const v1::PolicySource src = AcmeOrg();
      const v1::BuildStep step = WebStep();
      while (!stop.load()) {
        auto r = client->Decide(src, step);
        absl::MutexLock lock(&mu);
        if (!r.ok()) {
          ++failed;
          last_error = r.status().ToString();
          continue;
        }
        ids.push_back(r->decision_id());
        revisions[r->decision().policy_revision()].insert(
            r->decision_id().substr(0, r->decision_id().find('-')));
        // Bounded load: a few hundred decisions a second.
        mu.Unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        mu.Lock();
      }
    });
  }
  auto answered = [&] {
    absl::MutexLock lock(&mu);
    return ids.size();
  };
  auto wait_for_more = [&](std::size_t n) {
    const std::size_t target_count = answered() + n;
    for (int i = 0; i < 500 && answered() < target_count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_for_more(100);
  EXPECT_EQ(replicas[0]->Stop(), 0) << replicas[0]->AllOutput();  // SIGTERM: drains.
  wait_for_more(100);
  replicas[1]->Kill();                // SIGKILL: a crash.
  wait_for_more(100);
  replicas[0] = start(ports[0]);
  replicas[1] = start(ports[1]);
  ASSERT_EQ(replicas[0]->port(), ports[0]) << replicas[0]->AllOutput();
  ASSERT_EQ(replicas[1]->port(), ports[1]) << replicas[1]->AllOutput();
  wait_for_more(100);

  // Roll a policy change: every replica watches the same directory.
  const absl::Time changed = absl::Now();
  write_policy("r2");
  absl::Duration converged = absl::InfiniteDuration();
  for (int i = 0; i < 1000; ++i) {
    {
      absl::MutexLock lock(&mu);
      revisions.erase("r1");
      revisions.erase("r2");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    absl::MutexLock lock(&mu);
    // 50 ms of answers from all three replicas, none still on r1.
    if (revisions.count("r2") && revisions["r2"].size() == 3 && !revisions.count("r1")) {
      converged = absl::Now() - changed;
      break;
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0) << last_error;
  EXPECT_LT(converged, absl::Seconds(10)) << "replicas never all served revision r2";
  std::cout << "[ failover ] " << ids.size() << " decisions, 0 failed; revision r2 served by "
            << "every replica " << absl::FormatDuration(converged) << " after the change\n";

  for (auto& r : replicas) {
    if (r->port() > 0) {
      EXPECT_EQ(r->Stop(), 0) << r->AllOutput();
    }
  }
  // Every answered decision is in some replica's log - the SIGKILLed one's
  // too: a call is answered only once its line is written (before-reply).
  std::string logs;
  for (int i = 0; i < incarnation; ++i) {
    logs += ReadAll((dir_ / absl::StrCat("replica", i) / "decisions.log").string());
  }
  const std::string killed_log = ReadAll((dir_ / "replica1" / "decisions.log").string());
  const std::size_t at = killed_log.find("\"decision_id\":\"");
  ASSERT_NE(at, std::string::npos) << "the killed replica logged nothing";
  const std::string killed_prefix =
      killed_log.substr(at + 15, killed_log.find('-', at + 15) - (at + 15)) + "-";
  int missing = 0, missing_from_killed = 0, answered_by_killed = 0;
  for (const std::string& id : ids) {
    const bool killed = absl::StartsWith(id, killed_prefix);
    answered_by_killed += killed;
    if (absl::StrContains(logs, absl::StrCat("\"decision_id\":\"", id, "\""))) continue;
    ++missing;
    missing_from_killed += killed;
  }
  EXPECT_EQ(missing, 0) << "of " << ids.size() << " answered decisions, " << missing_from_killed
                        << " by the SIGKILLed replica";
  std::cout << "[ failover ] every answered decision logged, " << answered_by_killed
            << " of them by the replica that was SIGKILLed\n";
}

// Opens `count` Decide streams on one connection of its own and sends
// nothing on them (no request message, no half-close), as a client that
// means to exhaust the server does; cancels them when destroyed. The streams
// go out as fast as the server's concurrency limit lets gRPC send them.
class StreamFlood {
 public:
  StreamFlood(const std::string& address, int count) : calls_(count) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // Not shared with other channels.
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    grpc::GenericStub stub(channel_);
    for (Call& c : calls_) {
      c.stream = stub.PrepareCall(&c.context, "/buildgate.v1.BuildGateService/Decide", &cq_);
      c.stream->StartCall(&c.started);
    }
  }
  // Counts streams sent to the server until all `count` are, or none more
  // is for `quiet_s` seconds; returns how many were sent.
  int WaitUntilSent(double quiet_s) {
    while (sent_ < static_cast<int>(calls_.size())) {
      void* tag;
      bool ok;
      const auto deadline = std::chrono::system_clock::now() +
                            std::chrono::milliseconds(static_cast<int>(quiet_s * 1000));
      if (cq_.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) break;
      sent_ += ok;
    }
    return sent_;
  }
  ~StreamFlood() {
    for (Call& c : calls_) c.context.TryCancel();
    for (Call& c : calls_) c.stream->Finish(&c.status, &c.status);
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

 private:
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream;
    char started = 0;  // Its address tags StartCall.
    grpc::Status status;
  };
  std::shared_ptr<grpc::Channel> channel_;
  grpc::CompletionQueue cq_;
  std::vector<Call> calls_;
  int sent_ = 0;
};

// Proves one client cannot exhaust the server: 16,000 concurrent streams on
// one connection (opened, never finished) leave buildgated's resident memory
// under 128 MiB (half the deployment's limit), and another caller is still
// answered.
TEST_F(ProcessTest, SixteenThousandStreamsOnOneConnectionStayBounded) {
  Daemon d(dir_, {});
  ASSERT_GT(d.port(), 0) << d.AllOutput();
  const long idle_kib = ResidentKiB(d.pid());
  constexpr int kStreams = 16000;
  StreamFlood flood(d.address(), kStreams);
  const int sent = flood.WaitUntilSent(2.0);
  absl::SleepFor(absl::Seconds(1));  // Let the server take in what was sent.
  const long flooded_kib = ResidentKiB(d.pid());
  std::cout << "[ streams ] " << sent << " of " << kStreams << " streams sent; buildgated RSS "
            << idle_kib / 1024 << " MiB idle, " << flooded_kib / 1024 << " MiB flooded\n";
  EXPECT_LT(flooded_kib, 128 * 1024) << sent << " streams sent";
  const std::string step = kSrc + "/examples/steps/build-and-push-ecr.yaml";
  auto other = RunCommand(kCli + " decide --server " + d.address() + " --org acme --step " + step +
                              " --timeout 5s", true);
  EXPECT_EQ(other.exit_code, 10) << other.out;
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

// Proves idle TCP connections to the metrics port (connected, nothing sent)
// cannot block a scrape: with 8 of them /metrics answers at once, and with
// three times as many as the metrics server has threads it still answers
// once its request timeout has closed the idle ones.
TEST_F(ProcessTest, IdleMetricsConnectionsDoNotBlockScrapes) {
  Daemon d(dir_, {});
  ASSERT_GT(d.metrics_port(), 0) << d.AllOutput();
  for (const int idle_count : {8, 48}) {
    std::vector<int> idle;
    for (int i = 0; i < idle_count; ++i) idle.push_back(ConnectLoopback(d.metrics_port()));
    absl::SleepFor(absl::Milliseconds(200));  // Accepted before the scrape connects.
    const absl::Time start = absl::Now();
    const std::string metrics = HttpGet(d.metrics_port(), "/metrics", 30);
    const absl::Duration took = absl::Now() - start;
    std::cout << "[ metrics ] scrape with " << idle_count << " idle connections: "
              << absl::FormatDuration(took) << "\n";
    EXPECT_TRUE(absl::StrContains(metrics, "buildgate_policy_sets_loaded")) << idle_count;
    EXPECT_LT(took, idle_count <= 8 ? absl::Seconds(5) : absl::Seconds(20)) << idle_count;
    for (int fd : idle) ::close(fd);
  }
  EXPECT_EQ(d.Stop(), 0) << d.AllOutput();
}

}  // namespace
}  // namespace buildgate
