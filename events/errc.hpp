#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace billow {

/// Every error Billow reports across an actor or storage boundary.
///
/// Values are stable: they travel inside `caf::error` (category `billow`) and
/// the HTTP front maps them to status codes (404, 409, 412, 422, 503, 507,
/// ...).
enum class billow_errc : uint8_t {
  /// Not an error; never sent.
  none = 0,
  /// Input failed validation (bad stream id, payload not an object, ...).
  invalid_argument,
  /// The addressed stream, aggregate or resource does not exist.
  not_found,
  /// An append's expected version did not match the stream's current one.
  wrong_expected_version,
  /// The aggregate's state forbids the command (e.g. suspend a terminated
  /// service).
  invalid_transition,
  /// The resource exists already.
  already_exists,
  /// The storage layer failed (I/O error, corruption, full disk).
  storage_error,
  /// The data directory is held by another process.
  data_dir_locked,
  /// A stored event failed hash-chain or decoding checks.
  corruption,
  /// The component is shutting down or not yet ready.
  unavailable,
  /// An operation exceeded its time limit.
  timeout,
  /// A module reported an error or threw.
  module_failure,
  /// The caller lacks a permission.
  permission_denied,
  /// An internal invariant failed; a bug.
  internal,
  /// The data volume is full: nothing was stored (HTTP 507). Writes resume
  /// by themselves once space is freed.
  storage_full,
  /// The storage cannot take writes now, or could not confirm that a write
  /// is durable (HTTP 503 with Retry-After); a retry with the same event ids
  /// never stores twice.
  storage_unavailable,
  /// A debit would take a balance below its credit limit (HTTP 409).
  insufficient_funds,
};

/// The CAF error category of `billow_errc`.
constexpr caf::atom_value billow_error_category = caf::atom("billow");

/// The snake_case name of `x`, e.g. `wrong_expected_version`.
std::string to_string(billow_errc x);

/// Wraps `x` as a `caf::error` of category `billow` (found by ADL).
caf::error make_error(billow_errc x);

/// Wraps `x` with a human-readable context message.
caf::error make_error(billow_errc x, std::string detail);

/// The billow_errc in `err`, or `billow_errc::internal` for other categories.
billow_errc errc_of(const caf::error& err);

/// The context message stored by `make_error(x, detail)`, or the empty string.
std::string detail_of(const caf::error& err);

/// Registers the error category with an actor system config, so errors print
/// as `billow: wrong_expected_version (...)`.
void register_error_category(caf::actor_system_config& cfg);

} // namespace billow
