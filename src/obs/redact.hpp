#pragma once
// Redaction of secrets and personal data before anything is logged. Log() applies RedactJson to every
// line's fields and RedactText to its message; other modules call them for anything else they emit.

#include <string>
#include <string_view>

#include "core/json.hpp"

namespace studio::obs {

/// Replaces the value of a secret-named field.
inline constexpr std::string_view kRedacted = "[REDACTED]";
/// Replace personal data found in free text.
inline constexpr std::string_view kRedactedEmail = "[EMAIL]";
inline constexpr std::string_view kRedactedCard = "[CARD]";
inline constexpr std::string_view kRedactedPhone = "[PHONE]";

/// True when a field named `key` holds a credential: case-insensitive, '-' and '_' alike, one of
/// authorization, proxy-authorization, cookie, set-cookie, password, passwd, secret, token,
/// access_token, refresh_token, api_key, apikey, x-api-key, client_secret, jwt, private_key, or
/// containing "password", "passwd", "secret" or "token".
bool IsSecretKey(std::string_view key);

/// Replaces in free text:
///  - e-mail addresses (local@domain.tld) with [EMAIL];
///  - payment card numbers with [CARD]: 13–19 digits, either in one run or in groups of 3–6 digits
///    separated by one space or dash, starting with an issuer prefix (2221–2720, 30, 34–39, 4, 5, 6)
///    and passing the Luhn check;
///  - phone numbers with [PHONE]: '+' and 8–15 digits, optionally grouped by spaces, dashes, dots or
///    parentheses (E.164 and its printed forms), and North American numbers without '+':
///    (415) 555-0123, 415-555-0123, 415.555.0123, 415 555 0123, optionally after "1-" / "1 ".
/// A number only matches as a whole: digits glued to letters, '_' or to a dotted or dashed digit run
/// (ids, hex, UUIDs, IPs, versions, dates, decimals) are left alone. Text without '@' or digits is
/// returned unchanged after one scan.
std::string RedactText(std::string_view text);

/// Returns `value` with, recursively through objects and arrays: the value of every secret-named key
/// (IsSecretKey) replaced by "[REDACTED]", and RedactText applied to every other string.
/// Exception: a key that is secret only because it contains "token" keeps a number, boolean or null
/// value, since those are counts and flags (prompt_tokens, max_tokens, has_token), never a credential.
Json RedactJson(Json value);

}  // namespace studio::obs
