#include "auth/password.hpp"

#include <crypt.h>
#include <sodium.h>
#include <zxcvbn.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include "core/error.hpp"

namespace studio::auth {
namespace {

// sodium_init() is thread-safe and idempotent, but a function-local static makes every entry point pay for it
// at most once, and C++ guarantees the initialisation itself happens exactly once even under contention.
void EnsureSodium() {
  static const int rc = sodium_init();  // 0 = initialised now, 1 = already initialised, -1 = failure
  if (rc < 0) throw std::runtime_error("libsodium initialisation failed");
}

// ---------------------------------------------------------------------------------------------------------------
// Strength

/// Number of code points in strictly valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF), or nullopt. Strict, because a lenient decoder would let one password have several byte encodings
/// and the hash (which sees bytes) would then depend on which one a client happened to send.
std::optional<std::size_t> CountCodePoints(std::string_view s) {
  std::size_t count = 0;
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto cont = [&](std::size_t k) { return k < n && (static_cast<unsigned char>(s[k]) & 0xC0u) == 0x80u; };
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      i += 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {  // C0/C1 would be overlong encodings of ASCII
      if (!cont(i + 1)) return std::nullopt;
      i += 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return std::nullopt;
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      if (b0 == 0xE0 && b1 < 0xA0) return std::nullopt;   // overlong
      if (b0 == 0xED && b1 >= 0xA0) return std::nullopt;  // UTF-16 surrogates U+D800..U+DFFF
      i += 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return std::nullopt;
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      if (b0 == 0xF0 && b1 < 0x90) return std::nullopt;   // overlong
      if (b0 == 0xF4 && b1 >= 0x90) return std::nullopt;  // above U+10FFFF
      i += 4;
    } else {
      return std::nullopt;  // stray continuation byte, C0, C1, F5..FF
    }
    ++count;
  }
  return count;
}

/// zxcvbn's own score scale (zxcvbn v4 guesses thresholds: 10^3, 10^6, 10^8, 10^10). The C port returns the
/// estimate as entropy in bits, i.e. log2(guesses), so log10(guesses) = bits * log10(2).
int ScoreFromBits(double bits) {
  const double log10_guesses = bits * std::log10(2.0);
  if (log10_guesses < 3) return 0;
  if (log10_guesses < 6) return 1;
  if (log10_guesses < 8) return 2;
  if (log10_guesses < 10) return 3;
  return 4;
}

bool IsAsciiAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// The dictionary zxcvbn should consider "about this user". zxcvbn only matches whole dictionary entries
/// (case-insensitively), so "Acme Corp" alone would not catch "acmecorp2024" nor "alice.smith@x.com" catch
/// "AliceSmith!": add each input as given, its words (split at ASCII punctuation/space; non-ASCII bytes count as
/// letters), and the words run together.
std::vector<std::string> UserDictionary(const std::vector<std::string>& user_inputs) {
  // Inputs come from request bodies; bound the work zxcvbn does for them.
  constexpr std::size_t kMaxInputs = 16;
  constexpr std::size_t kMaxInputBytes = 256;
  constexpr std::size_t kMinWordBytes = 3;  // shorter fragments ("a", "jo") would flag half of all passwords

  std::vector<std::string> words;
  auto add = [&](std::string w) {
    if (w.size() >= kMinWordBytes && std::find(words.begin(), words.end(), w) == words.end()) {
      words.push_back(std::move(w));
    }
  };
  for (std::size_t k = 0; k < user_inputs.size() && k < kMaxInputs; ++k) {
    std::string_view input = user_inputs[k];
    input = input.substr(0, std::min(input.size(), kMaxInputBytes));
    input = input.substr(0, input.find('\0'));  // zxcvbn takes C strings
    add(std::string(input));
    std::string joined;
    std::string word;
    for (char c : input) {
      if (IsAsciiAlnum(c) || static_cast<unsigned char>(c) >= 0x80) {
        word += c;
      } else if (!word.empty()) {
        joined += word;
        add(std::move(word));
        word.clear();
      }
    }
    joined += word;
    add(std::move(word));
    add(std::move(joined));
  }
  return words;
}

/// zxcvbn-c gives no feedback text (unlike zxcvbn.js), so derive the warning from what dominates the match
/// breakdown, in zxcvbn's wording, and always add its standard suggestion.
std::string Feedback(const ZxcMatch_t* info, std::size_t password_bytes) {
  std::size_t user = 0, dict = 0, leet = 0, spatial = 0, repeat = 0, sequence = 0, date = 0;
  for (const ZxcMatch_t* m = info; m != nullptr; m = m->Next) {
    const auto len = static_cast<std::size_t>(std::max(m->Length, 0));
    switch (static_cast<int>(m->Type) & ~static_cast<int>(MULTIPLE_MATCH)) {
      case USER_MATCH:
      case USER_LEET_MATCH: user += len; break;
      case DICTIONARY_MATCH: dict += len; break;
      case DICT_LEET_MATCH: leet += len; break;
      case SPATIAL_MATCH: spatial += len; break;
      case REPEATS_MATCH: repeat += len; break;
      case SEQUENCE_MATCH: sequence += len; break;
      case DATE_MATCH:
      case YEAR_MATCH: date += len; break;
      default: break;
    }
  }
  std::string warning;
  if (user > 0) {
    // Checked first: it is the one thing the user can fix that an attacker targeting them would try first.
    warning = "Avoid your name, email address or workspace name.";
  } else if (dict + leet > 0 && 2 * (dict + leet) >= password_bytes) {
    warning = leet > dict ? "This is similar to a commonly used password." : "This is a commonly used password.";
  } else {
    const std::size_t top = std::max({spatial, repeat, sequence, date});
    if (top == 0) {
      // Nothing recognisable: it is simply too short for its character mix.
    } else if (top == spatial) {
      warning = "Keyboard patterns like \"qwerty\" are easy to guess.";
    } else if (top == repeat) {
      warning = "Repeated characters like \"aaa\" are easy to guess.";
    } else if (top == sequence) {
      warning = "Sequences like \"abc\" or \"6543\" are easy to guess.";
    } else {
      warning = "Dates and years are easy to guess.";
    }
  }
  std::string suggestion = "Add another word or two. Uncommon words are better.";
  return warning.empty() ? suggestion : warning + " " + suggestion;
}

[[noreturn]] void RejectPassword(std::string message) {
  throw ValidationFailed("The password does not meet the requirements.", {{"password", std::move(message)}});
}

// ---------------------------------------------------------------------------------------------------------------
// Hashing

void CheckParams(const HashParams& p) {
  if (p.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || p.opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      p.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || p.memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    throw std::invalid_argument("argon2id parameters out of range");
  }
}

// Stored argon2id hashes are only trusted as far as their format: cost parameters far beyond anything we ever
// configure (a corrupted row, a bad import) would otherwise make a single login allocate gigabytes or spin for
// minutes. 1 GiB / 64 passes is well above libsodium's own "sensitive" preset (1 GiB, t=4).
constexpr unsigned long long kMaxStoredMemKiB = 1024ull * 1024ull;
constexpr unsigned long long kMaxStoredPasses = 64;
constexpr std::string_view kArgon2idPrefix = "$argon2id$";

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// Reads m (KiB) and t from "$argon2id$[v=19$]m=<m>,t=<t>,p=<p>$salt$hash". Full validation is libsodium's job;
/// this only needs to be sure the numbers it bounds are the ones libsodium will use.
bool Argon2CostIsSane(std::string_view hash) {
  std::string_view rest = hash.substr(kArgon2idPrefix.size());
  if (StartsWith(rest, "v=")) {
    const auto dollar = rest.find('$');
    if (dollar == std::string_view::npos) return false;
    rest.remove_prefix(dollar + 1);
  }
  auto number = [&rest](std::string_view key, unsigned long long& out) {
    if (!StartsWith(rest, key)) return false;
    rest.remove_prefix(key.size());
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), out);
    if (ec != std::errc() || ptr == rest.data()) return false;
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    return true;
  };
  unsigned long long m = 0, t = 0, p = 0;
  if (!number("m=", m) || !number(",t=", t) || !number(",p=", p)) return false;
  return m <= kMaxStoredMemKiB && t <= kMaxStoredPasses;
}

VerifyResult VerifyArgon2id(std::string_view password, std::string_view stored, const HashParams& params) {
  // libsodium reads the hash as a C string from a crypto_pwhash_STRBYTES buffer: copy it into one, NUL-terminated;
  // anything that does not fit (or hides a NUL) is not a hash we wrote.
  if (stored.size() >= crypto_pwhash_STRBYTES || stored.find('\0') != std::string_view::npos) {
    return VerifyResult::kMismatch;
  }
  if (!Argon2CostIsSane(stored)) return VerifyResult::kMismatch;
  std::array<char, crypto_pwhash_STRBYTES> buf{};
  std::copy(stored.begin(), stored.end(), buf.begin());
  // Returns -1 both for a wrong password and for a malformed hash or allocation failure; all mean "no login".
  // The comparison inside is constant-time.
  if (crypto_pwhash_str_verify(buf.data(), password.data(), password.size()) != 0) return VerifyResult::kMismatch;
  // 0 = same parameters; 1 = different; -1 = could not parse (cannot happen after a successful verify, but if it
  // did, rehashing into a format we know is the safe answer).
  return crypto_pwhash_str_needs_rehash(buf.data(), params.opslimit, params.memlimit) == 0
             ? VerifyResult::kMatch
             : VerifyResult::kMatchNeedsRehash;
}

// bcrypt hashes are always "$2?$NN$" + 22 chars salt + 31 chars hash.
constexpr std::size_t kBcryptHashLength = 60;
// bcrypt (as implemented everywhere, libxcrypt included) silently ignores password bytes after the 72nd.
constexpr std::size_t kBcryptMaxPasswordBytes = 72;

bool IsBcrypt(std::string_view s) {
  return s.size() == kBcryptHashLength && (StartsWith(s, "$2a$") || StartsWith(s, "$2b$") || StartsWith(s, "$2y$"));
}

VerifyResult VerifyBcrypt(std::string_view password, std::string_view stored) {
  // Longer passwords are rejected outright rather than truncated: otherwise anything sharing the first 72 bytes
  // with the real password would log in. Accounts created through the old system could not have had such a
  // password take effect beyond 72 bytes anyway, and a user who typed one can use password reset.
  // NUL is rejected because crypt_rn takes a C string: "abc\0xyz" would be checked as "abc".
  if (password.size() > kBcryptMaxPasswordBytes || password.find('\0') != std::string_view::npos) {
    return VerifyResult::kMismatch;
  }
  // crypt_data is ~32 KiB: too big for the stack of a coroutine or pool thread. make_unique value-initialises it
  // to zero, which crypt_rn requires before first use.
  auto data = std::make_unique<crypt_data>();
  const std::string phrase(password);
  const std::string setting(stored);  // crypt_rn reads the salt and cost from the stored hash itself
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  // crypt_rn returns NULL for a malformed setting (bad cost, bad base64) instead of a "*0"-style failure token.
  bool match = false;
  if (out != nullptr) {
    const std::string_view computed(out);
    // Constant-time comparison so response timing reveals nothing about how much of the hash matched.
    match = computed.size() == stored.size() && sodium_memcmp(computed.data(), stored.data(), stored.size()) == 0;
  }
  sodium_memzero(data.get(), sizeof(crypt_data));  // holds password-derived state
  // Any bcrypt match needs rehashing: the goal is to have no bcrypt hashes left.
  return match ? VerifyResult::kMatchNeedsRehash : VerifyResult::kMismatch;
}

}  // namespace

HashParams OwaspParams() {
  // OWASP's first argon2id option: m=19 MiB, t=2, p=1. Picked over m=46 MiB/t=1 etc. because peak memory per
  // concurrent login matters more to a multi-tenant server than a few ms of CPU.
  return HashParams{2, std::size_t{19456} * 1024};
}

HashParams FastTestParams() {
  return HashParams{crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

void CheckPasswordStrength(std::string_view password, const std::vector<std::string>& user_inputs,
                           const PasswordPolicy& policy) {
  // Encoding first: length is counted in code points, so "12 characters" means what the user sees (NIST SP
  // 800-63B), not bytes, which would let 3 CJK characters pass a 9-"character" minimum.
  const auto length = CountCodePoints(password);
  if (!length) RejectPassword("Password must be valid UTF-8 text.");
  // NUL breaks C-string APIs (zxcvbn here, bcrypt in legacy systems) and no keyboard produces it.
  if (password.find('\0') != std::string_view::npos) RejectPassword("Password must not contain NUL characters.");
  if (*length < policy.min_length) {
    RejectPassword("Use at least " + std::to_string(policy.min_length) + " characters.");
  }
  // The maximum (checked before zxcvbn, whose matching cost grows with length) keeps hashing cheap to bound and
  // is generous enough for passphrases and password managers.
  if (*length > policy.max_length) {
    RejectPassword("Use at most " + std::to_string(policy.max_length) + " characters.");
  }
  if (policy.min_zxcvbn_score <= 0) return;

  const std::vector<std::string> words = UserDictionary(user_inputs);
  std::vector<const char*> dict;
  dict.reserve(words.size() + 1);
  for (const auto& w : words) dict.push_back(w.c_str());
  dict.push_back(nullptr);  // zxcvbn expects an argv-style, NULL-terminated list

  const std::string pw(password);  // NUL-terminated copy (no interior NUL, checked above)
  ZxcMatch_t* info = nullptr;
  const double bits = ZxcvbnMatch(pw.c_str(), dict.data(), &info);
  // Own the match list so it is freed even if building the message throws (bad_alloc).
  const std::unique_ptr<ZxcMatch_t, void (*)(ZxcMatch_t*)> guard(info, ZxcvbnFreeInfo);
  if (ScoreFromBits(bits) < policy.min_zxcvbn_score) RejectPassword(Feedback(info, pw.size()));
}

std::string HashPassword(std::string_view password, const HashParams& params) {
  EnsureSodium();
  CheckParams(params);
  if (password.size() > crypto_pwhash_PASSWD_MAX) throw std::invalid_argument("password too long to hash");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  // argon2id (RFC 9106's recommended variant): memory-hard against GPU/ASIC cracking and resistant to
  // side-channel attacks. crypto_pwhash_str_alg draws a random 16-byte salt and encodes algorithm, version,
  // parameters and salt into the result, so verification needs nothing else and parameters can change later.
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), params.opslimit, params.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Parameters were checked above, so failure means the memory could not be allocated.
    throw std::runtime_error("argon2id hashing failed: out of memory");
  }
  return std::string(out.data());
}

VerifyResult VerifyPassword(std::string_view password, std::string_view stored_hash, const HashParams& params) {
  EnsureSodium();
  // Only argon2id is accepted as a current format (not argon2i, which libsodium would also verify): we never
  // wrote any, so one appearing means the data is not ours.
  if (StartsWith(stored_hash, kArgon2idPrefix)) return VerifyArgon2id(password, stored_hash, params);
  if (IsBcrypt(stored_hash)) return VerifyBcrypt(password, stored_hash);
  return VerifyResult::kMismatch;
}

void VerifyDummy(std::string_view password, const HashParams& params) {
  EnsureSodium();
  CheckParams(params);
  // One dummy hash per parameter set, made on first use (that first call costs a hash plus a verify). The
  // dummy's password is random and discarded, so nothing can ever match it. The map's nodes are stable, so the
  // reference stays valid after the lock is released; parameter sets come from configuration, so it stays tiny.
  static std::mutex mutex;
  static std::map<std::pair<unsigned long long, std::size_t>, std::string> dummies;
  const std::string* dummy = nullptr;
  {
    const std::lock_guard lock(mutex);
    auto& slot = dummies[{params.opslimit, params.memlimit}];
    if (slot.empty()) {
      std::array<unsigned char, 32> secret{};
      randombytes_buf(secret.data(), secret.size());
      const std::string_view secret_view(reinterpret_cast<const char*>(secret.data()), secret.size());
      try {
        slot = HashPassword(secret_view, params);
      } catch (...) {
        dummies.erase({params.opslimit, params.memlimit});
        throw;
      }
    }
    dummy = &slot;
  }
  // Same call, same parameters, same work as VerifyPassword on an argon2id hash; the result is meaningless.
  // (Its needs-rehash check is a string parse, negligible next to argon2.)
  (void)VerifyPassword(password, *dummy, params);
}

}  // namespace studio::auth
