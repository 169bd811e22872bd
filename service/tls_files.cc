#include "service/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"

namespace buildgate {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

// The error for `flag`=`path`: `what`, then OpenSSL's last reason if it
// left one (its error queue is emptied either way).
absl::Status FileError(absl::string_view flag, const std::string& path, absl::string_view what) {
  std::string reason;
  if (const unsigned long e = ERR_peek_last_error(); e != 0) {
    if (const char* r = ERR_reason_error_string(e)) reason = absl::StrCat(" (", r, ")");
  }
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": ", what, reason));
}

absl::StatusOr<std::string> Read(absl::string_view flag, const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    // Its message starts with the path.
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", text.status().message()));
  }
  return text;
}

// OpenSSL's password callback for an encrypted key: there is no password
// (gRPC cannot use an encrypted key either); without it OpenSSL would ask on
// the terminal and block the start.
int NoPassword(char*, int, int, void*) { return -1; }

Bio MemoryBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first certificate in `pem`, or null.
Certificate FirstCertificate(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  return Certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, &NoPassword, nullptr) : nullptr);
}

// `t` as an absl::Time; `unreadable` when it cannot be read (so an
// unreadable date never makes a warning).
absl::Time ToTime(const ASN1_TIME* t, absl::Time unreadable) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return unreadable;
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<ServerTlsFiles> ReadServerTlsFiles(const std::string& cert_path,
                                                  const std::string& key_path,
                                                  const std::string& client_ca_path) {
  ServerTlsFiles files;
  BG_ASSIGN_OR_RETURN(files.cert_chain, Read("tls_cert", cert_path));
  BG_ASSIGN_OR_RETURN(files.private_key, Read("tls_key", key_path));
  ERR_clear_error();
  const Certificate cert = FirstCertificate(files.cert_chain);
  if (cert == nullptr) return FileError("tls_cert", cert_path, "no PEM certificate in it");
  Bio key_bio = MemoryBio(files.private_key);
  const Key key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &NoPassword, nullptr)
                        : nullptr);
  if (key == nullptr) {
    return FileError("tls_key", key_path, "no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return FileError("tls_key", key_path,
                     absl::StrCat("is not the key of the certificate in --tls_cert=", cert_path));
  }
  files.not_before = ToTime(X509_get0_notBefore(cert.get()), absl::InfinitePast());
  files.not_after = ToTime(X509_get0_notAfter(cert.get()), absl::InfiniteFuture());
  if (!client_ca_path.empty()) {
    BG_ASSIGN_OR_RETURN(files.client_ca, Read("tls_client_ca", client_ca_path));
    if (FirstCertificate(files.client_ca) == nullptr) {
      return FileError("tls_client_ca", client_ca_path, "no PEM certificate in it");
    }
  }
  ERR_clear_error();
  return files;
}

std::string CertificateValidityProblem(const ServerTlsFiles& files, absl::Time now) {
  if (now > files.not_after) return absl::StrCat("expired at ", Rfc3339(files.not_after));
  if (now < files.not_before) return absl::StrCat("not valid before ", Rfc3339(files.not_before));
  return "";
}

}  // namespace buildgate
