#pragma once

// The aggregate base: how every aggregate actor (service, job, scheduler)
// turns a command into durable events.
//
//   command ──► [idempotency key seen? ──yes──► the first answer again]
//          ──► decide(state) ──error──► typed error (invalid_transition, ...)
//                  │ events
//                  ▼
//   append(stream, exact(version), events) via the writer ──► durable
//                  │                               │ wrong_expected_version:
//                  ▼                               │ catch up from the log,
//   apply(state, event) for each (pure, no I/O)    │ decide again (3 times)
//                  ▼
//   effects (e.g. queue a job) ──► reply {version}
//
// Commands of one aggregate run one at a time: a command that arrives while
// an append is in flight waits in `waiting` until the previous one is applied,
// so `decide` always sees the state the append will follow.
//
// Idempotency: a command with a key derives its event ids from (stream, key,
// index), so a retried append is a no-op in the store, and the key with its
// answer is remembered (the last event of the command carries
// `idempotency_key`, so the table survives passivation and restarts).

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/context.hpp"
#include "events/envelope.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/uuid.hpp"

namespace billow::actors {

/// What a command answers once its events are durable.
struct command_result {
  /// The aggregate's stream version after the command.
  uint64_t version = 0;
  /// The job the command queued (nil when none).
  events::uuid job_id;
  /// True when this is the remembered answer to an earlier delivery of the
  /// same command (same idempotency key).
  bool duplicate = false;
  /// The log position of the command's last event: where it is stored, also
  /// for events found already stored (a retry after a crash). 0 when the
  /// command appended nothing or the answer is one remembered by its key.
  uint64_t position = 0;

  friend bool operator==(const command_result&, const command_result&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_result& x) {
  return f(x.version, x.job_id, x.duplicate, x.position);
}

/// One event a command decided on, before it is stored.
struct domain_event {
  std::string type;
  boost::json::object payload;
  /// The payload's schema number for `type`.
  uint32_t schema = 1;
  /// Its id, when the decision names one (an entity whose id is its
  /// creating event's, so that a repeat is the same event); nil: derived
  /// from the command's key, or random without one.
  events::uuid event_id = {};
};

/// A `decide` function's answer.
using decision = caf::expected<std::vector<domain_event>>;

/// A UUID derived from its inputs (BLAKE2b-128, version 8 layout):
/// deterministic event and job ids for idempotent retries.
events::uuid derive_uuid(std::string_view a, std::string_view b, uint64_t n);

/// Text of a JSON value, or "" when `key` is missing or not a string.
std::string json_string(const boost::json::object& obj, std::string_view key);

/// Unsigned integer at `key`, or `fallback`.
uint64_t json_uint(const boost::json::object& obj, std::string_view key,
                   uint64_t fallback = 0);

/// The UUID in the string at `key`, or nil.
events::uuid json_uuid(const boost::json::object& obj, std::string_view key);

/// Parses a JSON object; an empty object on malformed text.
boost::json::object parse_object(std::string_view text);

/// The generic part of an aggregate actor's state. `State` provides:
///   static void apply(State&, std::string_view type, const
///   boost::json::object&); boost::json::object to_json() const; static State
///   from_json(const boost::json::object&);
template <class State>
class aggregate {
public:
  std::string stream;
  uint64_t version = 0;
  State state;

  /// Loads the latest snapshot and every later event.
  caf::error load(const events::event_store& store) {
    if (auto snap = store.load_snapshot(stream)) {
      auto obj = parse_object(snap->bytes);
      if (auto* s = obj.if_contains("state"); s && s->is_object())
        state = State::from_json(s->get_object());
      if (auto* k = obj.if_contains("keys"); k && k->is_array())
        for (auto& e : k->get_array())
          if (e.is_object()) {
            auto& o = e.get_object();
            remember(json_string(o, "k"),
                     command_result{json_uint(o, "v"), json_uuid(o, "j"),
                                    false});
          }
      version = snap->version;
      snapshot_version_ = snap->version;
    } else if (errc_of(snap.error()) != billow_errc::not_found) {
      return snap.error();
    }
    return catch_up(store);
  }

  /// Applies events stored after `version` (by another incarnation).
  caf::error catch_up(const events::event_store& store) {
    auto evs = store.read_stream(stream, version + 1,
                                 events::read_direction::forward, SIZE_MAX);
    if (!evs)
      return evs.error();
    for (auto& e : *evs) {
      auto obj = parse_object(e.payload);
      apply_one(e.type, obj, e.version);
    }
    return {};
  }

  /// Runs `fn` now, or after the commands ahead of it finished.
  void exclusive(std::function<void()> fn) {
    if (busy_) {
      waiting_.push_back(std::move(fn));
      return;
    }
    busy_ = true;
    fn();
  }

  /// Ends the current command and starts the next waiting one.
  void next() {
    busy_ = false;
    if (!waiting_.empty()) {
      auto fn = std::move(waiting_.front());
      waiting_.pop_front();
      busy_ = true;
      fn();
    }
  }

  bool idle() const noexcept {
    return !busy_ && waiting_.empty();
  }

  /// The remembered answer for `key`.
  std::optional<command_result> find_key(const std::string& key) const {
    for (auto& [k, r] : keys_)
      if (k == key)
        return r;
    return std::nullopt;
  }

  /// Applies one event (pure) and tracks its idempotency key.
  void apply_one(std::string_view type, const boost::json::object& payload,
                 uint64_t ev_version) {
    State::apply(state, type, payload);
    version = ev_version;
    if (auto key = json_string(payload, "idempotency_key"); !key.empty())
      remember(std::move(key),
               command_result{ev_version, json_uuid(payload, "job_id"), false});
  }

  /// The snapshot bytes of the current state.
  std::string snapshot_bytes() const;

  /// True when `opts` asks for a snapshot now.
  bool snapshot_due(const aggregate_options& opts) const noexcept {
    return opts.snapshot_every > 0
      && version >= snapshot_version_ + opts.snapshot_every;
  }

  void snapshot_taken() noexcept {
    snapshot_version_ = version;
  }

  size_t max_keys = 8;
  /// Set by `passivate`: the actor quits once idle.
  bool passivating = false;

private:
  void remember(std::string key, command_result r) {
    for (auto& [k, v] : keys_)
      if (k == key) {
        v = r;
        return;
      }
    if (keys_.size() >= max_keys && !keys_.empty())
      keys_.erase(keys_.begin());
    keys_.emplace_back(std::move(key), r);
  }

  bool busy_ = false;
  uint64_t snapshot_version_ = 0;
  // A list, not a deque: an empty std::deque allocates ~600 bytes, which
  // 100,000 idle actors would pay for nothing.
  std::list<std::function<void()>> waiting_;
  std::vector<std::pair<std::string, command_result>> keys_;
};

/// Encodes (state, keys) as the snapshot's JSON text.
std::string encode_snapshot(
  boost::json::object state,
  const std::vector<std::pair<std::string, command_result>>& keys);

template <class State>
std::string aggregate<State>::snapshot_bytes() const {
  return encode_snapshot(state.to_json(), keys_);
}

/// Turns decided events into `new_event`s: the ids they name, else ids
/// derived from the key (or random), the key on the last event, actor and
/// schema set.
std::vector<events::new_event>
to_new_events(const std::string& stream, const std::string& key,
              const std::string& actor, std::vector<domain_event>& evs);

} // namespace billow::actors
