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
  /// until the next call or the scratch's end.
  const boost::json::object* parse_object(std::string_view text) {
    boost::system::error_code ec;
    value_ = boost::json::parse(text, ec, boost::json::storage_ptr{&mr_});
    if (ec || !value_.is_object())
      return nullptr;
    return &value_.get_object();
  }

private:
  unsigned char buf_[4096];
  boost::json::monotonic_resource mr_{buf_, sizeof buf_};
  boost::json::value value_;
};

} // namespace billow::projections
