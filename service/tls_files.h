// The server's TLS files, read and checked before gRPC sees them. gRPC 1.51
// takes any bytes as a certificate or key and only fails later, when it
// builds the listener, so a bad file read as "cannot listen on --listen=…".
// Here a bad file is refused naming the flag, the file and OpenSSL's reason
// ("--tls_cert=/etc/tls/server.pem: no PEM certificate in it"), a key that
// does not belong to the certificate is refused, and the certificate's
// validity dates are kept so the server can warn when it has expired.
//
// Thread-safe: the function is pure apart from reading the files.
#ifndef BUILDGATE_SERVICE_TLS_FILES_H_
#define BUILDGATE_SERVICE_TLS_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace buildgate {

struct ServerTlsFiles {
  std::string cert_chain;   // PEM, as read from --tls_cert.
  std::string private_key;  // PEM, as read from --tls_key.
  std::string client_ca;    // PEM, as read from --tls_client_ca; empty: none.
  // Validity of the server (first) certificate of the chain.
  absl::Time not_before;
  absl::Time not_after;
};

// Reads and checks the three files (`client_ca_path` may be empty):
// kInvalidArgument "--FLAG=PATH: WHY" for a file that cannot be read, holds
// no PEM certificate (no unencrypted PEM key: OpenSSL is never let ask for a
// passphrase), or a key that does not match the certificate.
absl::StatusOr<ServerTlsFiles> ReadServerTlsFiles(const std::string& cert_path,
                                                  const std::string& key_path,
                                                  const std::string& client_ca_path);

// "" when the certificate is valid at `now`; else why not, for a warning at
// start: "expired at 2026-01-01T00:00:00Z" or "not valid before ...".
std::string CertificateValidityProblem(const ServerTlsFiles& files, absl::Time now);

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_TLS_FILES_H_
