#pragma once

// Parses one event payload into a stack buffer: the apply path of a
// projection allocates nothing for payloads up to a few kilobytes.

#include <string_view>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace billow::projections {

class json_scratch {
public:
  json_scratch() = default;
  json_scratch(const json_scratch&) = delete;
  json_scratch& operator=(const json_scratch&) = delete;

  /// The parsed object, or nullptr when `text` is not a JSON object. Valid
  /// until the next call or the scratch's end; it lives on the scratch's
  /// buffer, so copy out of it into storage of your own (a copy constructed
  /// from it would share that buffer).
  const boost::json::object* parse_object(std::string_view text) {
    boost::system::error_code ec;
    // Parsed straight onto `value_`'s own storage: the assignment then moves
    // the tree instead of copying it out of the buffer.
    value_ = boost::json::parse(text, ec, value_.storage());
    if (ec || !value_.is_object())
      return nullptr;
    return &value_.get_object();
  }

private:
  unsigned char buf_[4096];
  boost::json::monotonic_resource mr_{buf_, sizeof buf_};
  // On the buffer (parentheses: braces would make an array).
  boost::json::value value_
    = boost::json::value(boost::json::storage_ptr(&mr_));
};

} // namespace billow::projections
