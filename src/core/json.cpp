#include "core/json.hpp"

#include <string>

#include "core/error.hpp"

namespace studio {
namespace {

struct TooDeep {};

}  // namespace

Json ParseJsonBody(std::string_view body, int max_depth) {
  if (body.empty()) {
    throw BadRequest("The request body is empty; a JSON document was expected.", {{"body", "must not be empty"}},
                     "INVALID_JSON");
  }
  // nlohmann's parser is iterative, but it calls back on every container start with the depth, so the
  // limit is enforced before a deep document exists (and before its recursive destructor could run).
  auto guard = [max_depth](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= max_depth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    return Json::parse(body.begin(), body.end(), guard);
  } catch (const TooDeep&) {
    throw BadRequest("JSON nesting is deeper than " + std::to_string(max_depth) + " levels.",
                     {{"body", "nested too deeply"}}, "JSON_TOO_DEEP");
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    std::string what = e.what();
    auto pos = what.find("] ");
    std::string message = pos == std::string::npos ? what : what.substr(pos + 2);
    throw BadRequest("Malformed JSON at byte " + std::to_string(e.byte) + ": " + message,
                     {{"body", "malformed JSON at byte " + std::to_string(e.byte)}}, "INVALID_JSON");
  }
}

}  // namespace studio
