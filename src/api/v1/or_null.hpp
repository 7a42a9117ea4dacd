#pragma once
// Optional fields in responses: the value, or JSON null (never an absent key), so clients see
// every documented field.

#include <optional>

#include "core/json.hpp"

namespace studio::api::v1 {

template <class T>
Json OrNull(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

}  // namespace studio::api::v1
