// OpenSSL without its exit handler (common/tls_library.h): when exit
// handlers run, OpenSSL's state must still be usable, because gRPC's
// event-engine threads may still be handshaking. Each case runs in a forked
// child (a death test; this process starts no thread and never touches
// OpenSSL, so the child starts clean) that registers a probe with atexit
// before anything initialises OpenSSL, so the probe runs after any handler
// OpenSSL registers (exit handlers run last-registered first) and says
// whether OpenSSL had been cleaned up by then.
#include "common/tls_library.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/buildgate_client.h"
#include "gtest/gtest.h"
#include "service/server.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

constexpr char kUsable[] = "OpenSSL usable at exit";
constexpr char kCleanedUp[] = "OpenSSL cleaned up at exit";

// Ends a child that could not set up its case, saying why (no exit
// handlers: the probe's line would only confuse the failure).
[[noreturn]] void SetUpFailed(const std::string& why) {
  std::fputs(why.c_str(), stderr);
  std::_Exit(3);
}

// After OPENSSL_cleanup, OpenSSL refuses to initialise again (returns 0).
void ProbeOpenSslAtExit() {
  std::fputs(OPENSSL_init_crypto(0, nullptr) == 1 ? kUsable : kCleanedUp, stderr);
  std::fflush(stderr);
}

class TlsLibraryTest : public ::testing::Test {
 protected:
  // A server certificate for localhost, made once in the parent (the forked
  // children read it).
  static void SetUpTestSuite() {
    const auto made = testing::RunCommand(absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout ",
        Path("server.key"), " -out ", Path("server.pem"), " >/dev/null 2>&1"));
    ASSERT_EQ(made.exit_code, 0) << made.out;
  }
  static std::string Path(const std::string& name) { return testing::ScratchPath(name); }
};

// The probe's control: initialised the way gRPC 1.51 does it, OpenSSL is
// cleaned up before the last exit handlers run. If this stopped holding,
// the cases below would prove nothing.
TEST_F(TlsLibraryTest, ProbeSeesOpenSslsOwnExitHandler) {
  EXPECT_EXIT(
      {
        std::atexit(ProbeOpenSslAtExit);
        OPENSSL_init_ssl(0, nullptr);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), kCleanedUp);
}

TEST_F(TlsLibraryTest, InitialisedFirstOpenSslOutlivesExitHandlers) {
  EXPECT_EXIT(
      {
        std::atexit(ProbeOpenSslAtExit);
        InitOpenSslWithoutExitHandler();
        OPENSSL_init_ssl(0, nullptr);  // gRPC's own initialisation, later.
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), kUsable);
}

// A TCP listener that never answers: a client's TLS handshake starts (and so
// gRPC initialises OpenSSL) and then waits. Returns its port.
int SilentListener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 8) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    SetUpFailed("cannot listen on 127.0.0.1");
  }
  return ntohs(address.sin_port);
}

// The client with TLS (`buildgate ... --tls_ca`): gRPC initialises OpenSSL
// when the channel first connects, here during a call that times out in
// the handshake.
TEST_F(TlsLibraryTest, TlsClientLeavesOpenSslUsableAtExit) {
  EXPECT_EXIT(
      {
        std::atexit(ProbeOpenSslAtExit);
        ClientOptions options;
        options.target = absl::StrCat("127.0.0.1:", SilentListener());
        options.tls_ca = Path("server.pem");
        options.deadline = absl::Milliseconds(300);
        options.max_attempts = 1;
        auto client = BuildGateClient::Create(options);
        if (!client.ok()) SetUpFailed(client.status().ToString());
        // Timed out in the handshake; any other end means none started.
        const absl::Status call = (*client)->ListPolicySets().status();
        if (call.code() != absl::StatusCode::kDeadlineExceeded) SetUpFailed(call.ToString());
        client->reset();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), kUsable);
}

// buildgated with --tls_cert/--tls_key.
TEST_F(TlsLibraryTest, TlsServerLeavesOpenSslUsableAtExit) {
  EXPECT_EXIT(
      {
        std::atexit(ProbeOpenSslAtExit);
        ServerOptions options;
        options.listen = "127.0.0.1:0";
        options.metrics_address = "";
        options.decision_log = "";
        options.tls_cert = Path("server.pem");
        options.tls_key = Path("server.key");
        auto server = BuildGateServer::Start(options);
        if (!server.ok()) SetUpFailed(server.status().ToString());
        server->reset();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), kUsable);
}

}  // namespace
}  // namespace buildgate
