#pragma once

// Validating the JSON bodies of the billing API: every failing field is
// reported at once, each under its path in the body (`rate`,
// `late_fee.amount`, `company.address[1]`), so that the HTTP layer can answer
// one 422 whose `errors` list them all (api.md, "Conventions").
//
// `validated<T>` is the answer of such a check: the value, or the non-empty
// list of problems. The readers below (`read_string`, `read_integer`, ...)
// check one JSON value and answer a detail without the field's name, like the
// money core's `parse_money_field`; `field_reader` puts the name in front.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/fwd.hpp>
#include <caf/expected.hpp>

namespace billow::billing {

/// One failing field of a request body: its path in the body and what is
/// wrong with it, such as {"late_fee.amount", "must be a string such as
/// \"5.00\", not a JSON number"}.
struct field_problem {
  /// The path of the field: names joined by '.', array indices in brackets.
  std::string field;
  /// What is wrong, phrased to follow the field's name ("is required").
  std::string detail;

  friend bool operator==(const field_problem&, const field_problem&) = default;
};

/// The result of checking a body: a `T`, or the problems that kept it from
/// being one (never an empty list). Tested like `caf::expected`:
///
///     auto rule = parse_tax_rule(body);
///     if (!rule)
///       return answer_422(rule.problems());
///     use(*rule);
template <class T>
class validated {
public:
  /// A passed check. Both constructors are implicit, so that a checking
  /// function can `return value;` or `return problems;`.
  validated(T value) : x_(std::move(value)) {}

  /// A failed check; `problems` must not be empty.
  validated(std::vector<field_problem> problems) : x_(std::move(problems)) {}

  explicit operator bool() const noexcept {
    return x_.index() == 0;
  }

  /// The value; throws `std::bad_variant_access` when the check failed.
  T& value() & {
    return std::get<0>(x_);
  }

  const T& value() const& {
    return std::get<0>(x_);
  }

  T&& value() && {
    return std::get<0>(std::move(x_));
  }

  T& operator*() & {
    return value();
  }

  const T& operator*() const& {
    return value();
  }

  T* operator->() {
    return &value();
  }

  const T* operator->() const {
    return &value();
  }

  /// The problems of a failed check; empty when it passed.
  const std::vector<field_problem>& problems() const {
    static const std::vector<field_problem> none;
    return x_.index() == 1 ? std::get<1>(x_) : none;
  }

private:
  std::variant<T, std::vector<field_problem>> x_;
};

/// The problems as one line for logs and test messages:
/// `name: is required; level: must be a whole number from 1 to 3`.
std::string to_string(const std::vector<field_problem>& problems);

// -- reading one JSON value ---------------------------------------------------

/// The JSON type of `v` as a person writes it: "null", "boolean", "number",
/// "string", "array" or "object".
std::string_view json_kind_name(const boost::json::value& v);

/// A string of at most `max_chars` characters (UTF-8 code points) without
/// control characters; refuses every other JSON type. With `allow_empty`
/// false also refuses "".
caf::expected<std::string> read_string(const boost::json::value& v,
                                       size_t max_chars, bool allow_empty);

/// An integer from `lo` to `hi`; refuses a JSON number with a fraction or an
/// exponent (14.0, 1e1), a string ("14") and every other type.
caf::expected<int64_t> read_integer(const boost::json::value& v, int64_t lo,
                                    int64_t hi);

/// `true` or `false`; refuses 0, 1, "true" and every other value.
caf::expected<bool> read_bool(const boost::json::value& v);

// -- reading the fields of one JSON object ------------------------------------

/// Reads the fields of one JSON object and records each failure under its
/// path: `prefix` (the object's own path, empty for the body) then the
/// field's name.
class field_reader {
public:
  /// Records the problems of `obj`, found at `prefix` in the body, in
  /// `problems`.
  field_reader(const boost::json::object& obj,
               std::vector<field_problem>& problems, std::string prefix = {});

  /// The path of the field `name` of this object: `late_fee.amount`.
  std::string path(std::string_view name) const;

  /// Records that the field `name` of this object fails with `detail`.
  void fail(std::string_view name, std::string detail);

  /// Records a problem at the exact `path`, e.g. one built by `path()` for
  /// an array element.
  void fail_at(std::string path, std::string detail);

  /// The field `name`, or `nullptr` when the object has none.
  const boost::json::value* find(std::string_view name) const;

  /// Refuses every field that is not in `known` with "is not a field of
  /// `what`" (`what` such as "a tax rule").
  void only(std::initializer_list<std::string_view> known,
            std::string_view what);

  /// Records a problem when `x` is an error (its detail under `name`) and
  /// answers the value when it is not.
  template <class T>
  std::optional<T> take(std::string_view name, caf::expected<T> x) {
    if (x)
      return std::move(*x);
    fail(name, detail_of_error(x.error()));
    return std::nullopt;
  }

  /// How many problems have been recorded so far (by any reader sharing the
  /// list).
  size_t problem_count() const noexcept {
    return problems_->size();
  }

private:
  static std::string detail_of_error(const caf::error& err);

  const boost::json::object* obj_;
  std::vector<field_problem>* problems_;
  std::string prefix_;
};

} // namespace billow::billing
