#pragma once

// Reading the fields of a stored event's payload, which Billow wrote itself
// (so a missing or mistyped field reads as its zero value rather than an
// error): the folds of invoices and accounts and the billing actors use
// these. Request bodies are checked with fields.hpp instead.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace billow::billing {

/// The string at `key`, or "".
inline std::string text_at(const boost::json::object& obj,
                           std::string_view key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

/// The integer at `key` (minor units, versions), or `fallback`.
inline int64_t integer_at(const boost::json::object& obj, std::string_view key,
                          int64_t fallback = 0) {
  if (auto* v = obj.if_contains(key)) {
    if (v->is_int64())
      return v->as_int64();
    if (v->is_uint64())
      return static_cast<int64_t>(v->as_uint64());
  }
  return fallback;
}

/// The boolean at `key`, or `fallback`.
inline bool flag_at(const boost::json::object& obj, std::string_view key,
                    bool fallback) {
  if (auto* v = obj.if_contains(key); v && v->is_bool())
    return v->as_bool();
  return fallback;
}

/// The object at `key`, or an empty one.
inline boost::json::object object_at(const boost::json::object& obj,
                                     std::string_view key) {
  if (auto* v = obj.if_contains(key); v && v->is_object())
    return v->as_object();
  return {};
}

} // namespace billow::billing
