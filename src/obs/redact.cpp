#include "obs/redact.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>
#include <vector>

// Hand-written scanners rather than std::regex: libstdc++'s regex is slow enough to matter on every log
// line and recurses per character, so a long field could overflow the stack. Each pass is linear.

namespace studio::obs {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }

char Normalize(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  return c == '-' ? '_' : c;
}

// True when s[i] continues a token that began before it: letters/digits/'_' right before, a digit and
// '.' or ':' before (decimals, IPs, versions, times), or an alphanumeric and '-' (UUIDs, ids, dates).
bool GluedBefore(std::string_view s, std::size_t i) {
  if (i == 0) return false;
  char p = s[i - 1];
  if (IsWord(p)) return true;
  if (i < 2) return false;
  char pp = s[i - 2];
  return ((p == '.' || p == ':') && IsDigit(pp)) || (p == '-' && IsAlnum(pp));
}

// Mirror image of GluedBefore for a token ending just before s[end].
bool GluedAfter(std::string_view s, std::size_t end) {
  if (end >= s.size()) return false;
  char n = s[end];
  if (IsWord(n)) return true;
  if (end + 1 >= s.size()) return false;
  char nn = s[end + 1];
  return ((n == '.' || n == ':') && IsDigit(nn)) || (n == '-' && IsAlnum(nn));
}

// Collects [begin, end) ranges and stitches the text back together with a placeholder in each.
class Replacer {
 public:
  explicit Replacer(std::string_view text) : text_(text) {}
  void Replace(std::size_t begin, std::size_t end, std::string_view with) {
    out_.append(text_, copied_, begin - copied_);
    out_ += with;
    copied_ = end;
  }
  std::string Finish() && {
    out_.append(text_, copied_);
    return std::move(out_);
  }

 private:
  std::string_view text_;
  std::string out_;
  std::size_t copied_ = 0;
};

// ---- e-mail addresses ----

bool IsLocalChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool IsDomainChar(char c) { return IsAlnum(c) || c == '.' || c == '-'; }

// Labels of 1..63 chars not starting or ending in '-', at least two of them, the last alphabetic (2+).
bool IsDomain(std::string_view domain) {
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= domain.size()) {
    std::size_t dot = domain.find('.', start);
    std::string_view label = domain.substr(start, dot == kNpos ? kNpos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    ++labels;
    if (dot == kNpos) {
      return labels >= 2 && label.size() >= 2 && std::all_of(label.begin(), label.end(), IsAlpha);
    }
    start = dot + 1;
  }
  return false;
}

std::string RedactEmails(std::string_view s) {
  Replacer out(s);
  std::size_t consumed = 0;
  for (std::size_t at = s.find('@'); at != kNpos; at = s.find('@', at + 1)) {
    std::size_t begin = at;
    while (begin > consumed && IsLocalChar(s[begin - 1])) --begin;
    while (begin < at && s[begin] == '.') ++begin;
    std::size_t end = at + 1;
    while (end < s.size() && IsDomainChar(s[end])) ++end;
    // A sentence may end right after the address.
    while (end > at + 1 && (s[end - 1] == '.' || s[end - 1] == '-')) --end;
    if (begin == at || !IsDomain(s.substr(at + 1, end - at - 1))) continue;
    out.Replace(begin, end, kRedactedEmail);
    consumed = end;
  }
  return std::move(out).Finish();
}

// ---- payment card numbers ----

constexpr int kMinCardDigits = 13;
constexpr int kMaxCardDigits = 19;
constexpr int kMinCardGroup = 3;
constexpr int kMaxCardGroup = 6;

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// Issuer prefixes of the card networks in use (Mastercard 2221–2720 and 51–55, Amex, Diners, JCB, Visa,
// Maestro, Discover, UnionPay). Filters out most long numbers that merely pass Luhn, notably Unix
// timestamps in s/ms/ns, which start with 1.
bool HasIssuerPrefix(std::string_view digits) {
  switch (digits[0]) {
    case '2': {
      int four = (digits[0] - '0') * 1000 + (digits[1] - '0') * 100 + (digits[2] - '0') * 10 + (digits[3] - '0');
      return four >= 2221 && four <= 2720;
    }
    case '3': return digits[1] == '0' || (digits[1] >= '4' && digits[1] <= '9');
    case '4':
    case '5':
    case '6': return true;
    default: return false;
  }
}

bool IsCardNumber(std::string_view digits) {
  auto n = static_cast<int>(digits.size());
  return n >= kMinCardDigits && n <= kMaxCardDigits && HasIssuerPrefix(digits) && LuhnValid(digits);
}

// A run of digit groups joined by single dashes ("4111-1111-1111-1111", "2026-11-24", "4111111111111111").
struct NumberToken {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string digits;
  int groups = 0;
  bool groups_card_sized = true;  // every group has kMinCardGroup..kMaxCardGroup digits
  bool standalone = false;        // not glued to surrounding text (see GluedBefore/GluedAfter)
};

std::vector<NumberToken> NumberTokens(std::string_view s) {
  std::vector<NumberToken> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!IsDigit(s[i])) {
      ++i;
      continue;
    }
    if (GluedBefore(s, i)) {
      // Inside a word (hex id, "v2", "req_0123…"): skip all of it so no suffix of it is taken for a number.
      while (i < s.size() && IsWord(s[i])) ++i;
      continue;
    }
    NumberToken token;
    token.begin = i;
    std::size_t j = i;
    while (true) {
      std::size_t group_start = j;
      while (j < s.size() && IsDigit(s[j])) token.digits += s[j++];
      auto len = static_cast<int>(j - group_start);
      ++token.groups;
      token.groups_card_sized = token.groups_card_sized && len >= kMinCardGroup && len <= kMaxCardGroup;
      if (j + 1 < s.size() && s[j] == '-' && IsDigit(s[j + 1])) {
        ++j;
        continue;
      }
      break;
    }
    token.end = j;
    token.standalone = !GluedAfter(s, j);
    tokens.push_back(std::move(token));
    i = j;
  }
  return tokens;
}

std::string RedactCards(std::string_view s) {
  std::vector<NumberToken> tokens = NumberTokens(s);
  Replacer out(s);
  std::size_t k = 0;
  while (k < tokens.size()) {
    const NumberToken& t = tokens[k];
    if (!t.standalone) {
      ++k;
      continue;
    }
    // One token: a plain run of digits, or dash-separated card-sized groups.
    if ((t.groups == 1 || t.groups_card_sized) && IsCardNumber(t.digits)) {
      out.Replace(t.begin, t.end, kRedactedCard);
      ++k;
      continue;
    }
    // Several tokens of one card-sized group each, one space apart ("4111 1111 1111 1111"). Take the
    // longest such window starting here that is a card; the next token may belong to other text.
    std::size_t best = 0;
    std::string digits;
    for (std::size_t m = k; m < tokens.size(); ++m) {
      const NumberToken& u = tokens[m];
      bool joined = m == k || (u.begin == tokens[m - 1].end + 1 && s[u.begin - 1] == ' ');
      if (!joined || !u.standalone || u.groups != 1 || !u.groups_card_sized) break;
      digits += u.digits;
      if (static_cast<int>(digits.size()) > kMaxCardDigits) break;
      if (m > k && IsCardNumber(digits)) best = m;
    }
    if (best > k) {
      out.Replace(t.begin, tokens[best].end, kRedactedCard);
      k = best + 1;
    } else {
      ++k;
    }
  }
  return std::move(out).Finish();
}

// ---- phone numbers ----

constexpr int kMinE164Digits = 8;
constexpr int kMaxE164Digits = 15;

bool IsPhoneSeparator(char c) { return c == ' ' || c == '-' || c == '.'; }

// Exactly n digits at s[pos..pos+n) not followed by another digit.
bool DigitsAt(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t k = pos; k < pos + n; ++k) {
    if (!IsDigit(s[k])) return false;
  }
  return pos + n == s.size() || !IsDigit(s[pos + n]);
}

// "+" then digit groups split by one separator or wrapped in parentheses, 8..15 digits in all.
std::size_t MatchInternational(std::string_view s, std::size_t plus) {
  std::size_t pos = plus + 1;
  int digits = 0;
  while (pos < s.size()) {
    if (s[pos] == '(') {
      std::size_t close = pos + 1;
      while (close < s.size() && IsDigit(s[close])) ++close;
      if (close == pos + 1 || close >= s.size() || s[close] != ')') return kNpos;
      digits += static_cast<int>(close - pos - 1);
      pos = close + 1;
      if (pos + 1 < s.size() && (s[pos] == ' ' || s[pos] == '-') && IsDigit(s[pos + 1])) ++pos;
      continue;
    }
    if (!IsDigit(s[pos])) break;
    while (pos < s.size() && IsDigit(s[pos])) {
      ++digits;
      ++pos;
    }
    if (pos + 1 < s.size() && IsPhoneSeparator(s[pos]) && (IsDigit(s[pos + 1]) || s[pos + 1] == '(')) {
      ++pos;
      continue;
    }
    break;
  }
  if (digits < kMinE164Digits || digits > kMaxE164Digits || GluedAfter(s, pos)) return kNpos;
  return pos;
}

// North American numbers: [1 sep] (NXX) NXX-XXXX or NXX sep NXX sep XXXX with one separator kind.
std::size_t MatchNorthAmerican(std::string_view s, std::size_t start) {
  std::size_t pos = start;
  if (s[pos] == '1' && pos + 2 < s.size() && IsPhoneSeparator(s[pos + 1]) &&
      (IsDigit(s[pos + 2]) || s[pos + 2] == '(')) {
    pos += 2;
  }
  std::size_t area = pos;
  char sep;
  if (s[pos] == '(') {
    area = pos + 1;
    if (!DigitsAt(s, area, 3) || area + 3 >= s.size() || s[area + 3] != ')') return kNpos;
    pos = area + 4;
    if (pos < s.size() && s[pos] == ' ') ++pos;
    sep = 0;  // after "(415) " the next separator may be any
  } else {
    if (!DigitsAt(s, area, 3) || area + 3 >= s.size() || !IsPhoneSeparator(s[area + 3])) return kNpos;
    sep = s[area + 3];
    pos = area + 4;
  }
  std::size_t exchange = pos;
  if (!DigitsAt(s, exchange, 3) || exchange + 3 >= s.size()) return kNpos;
  char sep2 = s[exchange + 3];
  if (!IsPhoneSeparator(sep2) || (sep != 0 && sep2 != sep)) return kNpos;
  std::size_t line = exchange + 4;
  if (!DigitsAt(s, line, 4)) return kNpos;
  // Area codes and exchanges never start with 0 or 1, which rules out many digit triples.
  if (s[area] < '2' || s[exchange] < '2') return kNpos;
  std::size_t end = line + 4;
  return GluedAfter(s, end) ? kNpos : end;
}

std::string RedactPhones(std::string_view s) {
  Replacer out(s);
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if ((c == '+' || c == '(' || IsDigit(c)) && !GluedBefore(s, i)) {
      std::size_t end = c == '+' ? MatchInternational(s, i) : MatchNorthAmerican(s, i);
      if (end != kNpos) {
        out.Replace(i, end, kRedactedPhone);
        i = end;
        continue;
      }
    }
    if (IsWord(c)) {
      // Never start a match in the middle of a word or number.
      while (i < s.size() && IsWord(s[i])) ++i;
    } else {
      ++i;
    }
  }
  return std::move(out).Finish();
}

enum class KeyKind { kPlain, kSecret, kTokenish };

KeyKind ClassifyKey(std::string_view key) {
  static constexpr std::array<std::string_view, 16> kSecretKeys = {
      "authorization", "proxy_authorization", "cookie",        "set_cookie", "password", "passwd",    "secret",
      "token",         "access_token",        "refresh_token", "api_key",    "apikey",   "x_api_key", "client_secret",
      "jwt",           "private_key"};
  std::string normalized(key.size(), '\0');
  std::transform(key.begin(), key.end(), normalized.begin(), Normalize);
  if (std::find(kSecretKeys.begin(), kSecretKeys.end(), normalized) != kSecretKeys.end()) return KeyKind::kSecret;
  for (std::string_view part : {"password", "passwd", "secret"}) {
    if (normalized.find(part) != std::string::npos) return KeyKind::kSecret;
  }
  return normalized.find("token") != std::string::npos ? KeyKind::kTokenish : KeyKind::kPlain;
}

void RedactInPlace(Json& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      KeyKind kind = ClassifyKey(it.key());
      Json& child = it.value();
      if (kind == KeyKind::kSecret || (kind == KeyKind::kTokenish && (child.is_string() || child.is_structured()))) {
        child = kRedacted;
      } else if (kind == KeyKind::kPlain) {
        RedactInPlace(child);
      }
    }
  } else if (value.is_array()) {
    for (Json& element : value) RedactInPlace(element);
  } else if (value.is_string()) {
    auto& text = value.get_ref<std::string&>();
    std::string redacted = RedactText(text);
    if (redacted != text) text = std::move(redacted);
  }
}

}  // namespace

bool IsSecretKey(std::string_view key) { return ClassifyKey(key) != KeyKind::kPlain; }

std::string RedactText(std::string_view text) {
  bool has_at = text.find('@') != kNpos;
  bool has_digit = std::any_of(text.begin(), text.end(), IsDigit);
  if (!has_at && !has_digit) return std::string(text);
  std::string result = has_at ? RedactEmails(text) : std::string(text);
  if (has_digit) result = RedactPhones(RedactCards(result));
  return result;
}

Json RedactJson(Json value) {
  RedactInPlace(value);
  return value;
}

}  // namespace studio::obs
