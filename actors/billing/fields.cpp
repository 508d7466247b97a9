#include "actors/billing/fields.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "events/errc.hpp"

namespace billow::billing {

namespace {

caf::error refuse(std::string detail) {
  return make_error(billow_errc::invalid_argument, std::move(detail));
}

/// The number of code points in `text`, valid UTF-8 (Boost.JSON's parser
/// refuses anything else): every byte that does not continue a sequence.
size_t code_points(std::string_view text) {
  return static_cast<size_t>(
    std::count_if(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

} // namespace

std::string to_string(const std::vector<field_problem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty())
      out += "; ";
    out += p.field + ": " + p.detail;
  }
  return out;
}

// -- reading one JSON value ---------------------------------------------------

std::string_view json_kind_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "boolean";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
    case boost::json::kind::string: return "string";
    default: return "number";
  }
}

caf::expected<std::string> read_string(const boost::json::value& v,
                                       size_t max_chars, bool allow_empty) {
  const auto* s = v.if_string();
  if (s == nullptr)
    return refuse("must be a string, not a JSON "
                  + std::string(json_kind_name(v)));
  std::string_view text{s->data(), s->size()};
  if (text.empty() && !allow_empty)
    return refuse("must not be empty");
  if (code_points(text) > max_chars)
    return refuse("must be at most " + std::to_string(max_chars)
                  + " characters long");
  if (has_control_character(text))
    return refuse("must not contain control characters (line breaks, tabs)");
  return std::string{text};
}

caf::expected<int64_t> read_integer(const boost::json::value& v, int64_t lo,
                                    int64_t hi) {
  auto range = [&] {
    return "must be a whole number from " + std::to_string(lo) + " to "
      + std::to_string(hi);
  };
  if (const auto* i = v.if_int64()) {
    if (*i < lo || *i > hi)
      return refuse(range());
    return *i;
  }
  if (v.is_uint64()) // above the range of int64_t, so above `hi`
    return refuse(range());
  if (v.is_number())
    return refuse(range() + ", without a fraction or an exponent");
  return refuse(range() + ", not a JSON " + std::string(json_kind_name(v)));
}

caf::expected<bool> read_bool(const boost::json::value& v) {
  if (const auto* b = v.if_bool())
    return *b;
  return refuse("must be true or false, not a JSON "
                + std::string(json_kind_name(v)));
}

// -- reading the fields of one JSON object ------------------------------------

field_reader::field_reader(const boost::json::object& obj,
                           std::vector<field_problem>& problems,
                           std::string prefix)
  : obj_(&obj), problems_(&problems), prefix_(std::move(prefix)) {}

std::string field_reader::path(std::string_view name) const {
  if (prefix_.empty())
    return std::string{name};
  return prefix_ + "." + std::string{name};
}

void field_reader::fail(std::string_view name, std::string detail) {
  fail_at(path(name), std::move(detail));
}

void field_reader::fail_at(std::string path, std::string detail) {
  problems_->push_back(field_problem{std::move(path), std::move(detail)});
}

const boost::json::value* field_reader::find(std::string_view name) const {
  return obj_->if_contains(name);
}

void field_reader::only(std::initializer_list<std::string_view> known,
                        std::string_view what) {
  for (const auto& [key, value] : *obj_)
    if (std::find(known.begin(), known.end(), std::string_view{key})
        == known.end())
      fail(key, "is not a field of " + std::string{what});
}

std::string field_reader::detail_of_error(const caf::error& err) {
  return detail_of(err);
}

} // namespace billow::billing
