#include "app/version.hpp"

namespace studio::app {

std::string_view Version() { return STUDIO_VERSION; }
std::string_view Commit() { return STUDIO_COMMIT; }

}  // namespace studio::app
